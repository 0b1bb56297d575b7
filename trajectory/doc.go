// Package trajectory reads and writes molecular-dynamics trajectories.
//
// It implements DCD, the unformatted-Fortran trajectory format of CHARMM,
// also written by NAMD, OpenMM and MDTraj and read by VMD, MDTraj and
// MDAnalysis. flowmd writes the CHARMM flavour: coordinates in angstrom as
// float32, little-endian, 4-byte record markers, no unit cell.
//
// # File layout
//
// A DCD file is a sequence of Fortran sequential records. Every record is
// framed by a 4-byte integer holding the record's payload length in bytes,
// once before and once after the payload. All integers are int32 and all
// reals float32 unless stated otherwise, in the byte order of the writing
// machine (detected from the first marker, which must be 84). Offsets below
// are for a file with T title lines and N atoms; ICNTRL indices are 0-based.
//
//	offset    size   content
//	0         4      record marker: 84
//	4         4      "CORD" (coordinates; CHARMM writes "VELD" for velocities)
//	8         4      ICNTRL[0]  NSET   number of frames in the file
//	12        4      ICNTRL[1]  ISTART step number of the first frame
//	16        4      ICNTRL[2]  NSAVC  steps between frames
//	20        4      ICNTRL[3]  NSTEP  steps covered by the file (see below)
//	24        12     ICNTRL[4..6]      unused, 0
//	36        4      ICNTRL[7]  NDEGF  degrees of freedom (flowmd writes 0)
//	40        4      ICNTRL[8]  NAMNF  number of fixed atoms
//	44        4      ICNTRL[9]  DELTA  timestep in AKMA units, float32
//	48        4      ICNTRL[10] 1 if every frame has a unit-cell record
//	52        4      ICNTRL[11] 1 if every frame has a 4th-dimension record
//	56        28     ICNTRL[12..18]    unused, 0
//	84        4      ICNTRL[19] CHARMM version (flowmd writes 24); 0 = X-PLOR
//	88        4      record marker: 84
//	92        4      record marker: 4+80T
//	96        4      NTITLE = T
//	100       80T    title lines, 80 bytes each, space padded
//	100+80T   4      record marker: 4+80T
//	104+80T   4      record marker: 4
//	108+80T   4      NATOM = N
//	112+80T   4      record marker: 4
//	116+80T          first frame (header size H = 116+80T)
//
// Each frame is three records, the X, Y and Z coordinates of all atoms
// (12N+24 bytes), so frame i starts at H + i*(12N+24):
//
//	4      record marker: 4N
//	4N     X[0..N-1] float32, angstrom
//	4      record marker: 4N
//	...    the same for Y, then Z
//
// When ICNTRL[10] is non-zero (CHARMM flavour only) each frame is preceded
// by a 56-byte unit-cell record: marker 48, six float64 values in CHARMM
// order [A, cos γ, B, cos β, cos α, C] (old writers store the angles in
// degrees instead of cosines), marker 48. When ICNTRL[11] is 1 a fourth
// coordinate record follows Z; the reader skips it.
//
// # Header fields and their meaning
//
// DELTA is the integration timestep in AKMA time units (1 AKMA =
// 48.88821 fs), not the time between frames; the time of frame i is
// (ISTART + i*NSAVC)*DELTA, which is how MDAnalysis computes it. VMD and
// MDTraj ignore the timing fields altogether.
//
// NSTEP is written by flowmd as NSET*NSAVC, the number of dynamics steps the
// frames span, which is what CHARMM stores for a run that saved its first
// frame NSAVC steps after the start. VMD and OpenMM write ISTART+NSET*NSAVC
// instead. No reader we know of uses the field.
//
// A file whose ICNTRL[19] is 0 is an X-PLOR (or NAMD 2.0 and earlier) file.
// Following VMD's dcdplugin, from which MDTraj and MDAnalysis derive their
// readers, DELTA is then read as a float64 spanning ICNTRL[9..10], and the
// unit-cell and 4th-dimension flags are not interpreted. We have not seen an
// X-PLOR file in the wild to confirm this; the reader's choice only affects
// Header().TimestepPS, never the coordinates.
//
// # Frame counting and crash safety
//
// The number of frames is computed from the file size, (size-H)/frameSize,
// as VMD does; trailing bytes that do not make a complete frame are
// ignored. NSET from the header is reported in DCDHeader.NSet but not
// trusted, because a writer killed between writing a frame and updating the
// header leaves NSET one short.
//
// DCDWriter keeps the file valid at every moment that matters: WriteFrame
// writes the complete frame first and then patches NSET and NSTEP in the
// header, so after every successful WriteFrame the file holds exactly the
// frames written so far, and a crash in the middle of a frame leaves a
// trailing partial frame that every reader ignores. OpenDCDAppend cuts such
// a partial frame off before continuing, and TruncateDCD cuts a file back to
// a checkpointed frame count so that a resumed run produces the same bytes
// as an uninterrupted one. Surviving a power loss as well needs
// DCDOptions.Sync, which flushes the frame to disk before the header that
// counts it.
//
// # Not supported
//
// Fixed atoms (NAMNF > 0, where frames after the first store only the free
// atoms) are rejected with an error wrapping errors.ErrUnsupported. So are
// 8-byte record markers (CHARMM built with -i8) and velocity files ("VELD").
// The writer produces no unit-cell records, which suits vacuum systems;
// appending to a file that has them is rejected.
package trajectory
