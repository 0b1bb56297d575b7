package trajectory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// AKMAFemtoseconds is the length of the AKMA time unit in femtoseconds.
// CHARMM stores the timestep (DELTA) in this unit.
const AKMAFemtoseconds = 48.88821

const (
	akmaPS = AKMAFemtoseconds / 1000

	// charmmVersion goes into ICNTRL[19]. Readers take any non-zero value to
	// mean "CHARMM flavour" (float32 DELTA, unit-cell flag honoured); 24 is
	// what VMD, NAMD and MDTraj write.
	charmmVersion = 24

	// maxTitles is CHARMM's limit on title lines; CHARMM's own reader
	// cannot take more, so the writer refuses to produce them.
	maxTitles = 32
	titleLen  = 80

	firstRecordLen = 84         // "CORD" + 20 ICNTRL words
	firstRecordEnd = 4 + 84 + 4 // file offset after record 1
	cellRecordLen  = 48         // six float64 values
	cellBlockSize  = 4 + cellRecordLen + 4

	// File offsets of the ICNTRL words the writer patches. NSET, ISTART,
	// NSAVC and NSTEP are adjacent, so one 16-byte write updates the count.
	offNSet = 8

	// maxAtoms keeps 4*NATOM, the coordinate record length, within int32.
	maxAtoms = math.MaxInt32 / 4
)

// Indices into ICNTRL (0-based).
const (
	icNSet    = 0
	icIStart  = 1
	icNSavc   = 2
	icNStep   = 3
	icNamnf   = 8
	icDelta   = 9
	icCell    = 10
	icDim4    = 11
	icVersion = 19
)

// DCDOptions describes the run a trajectory comes from. The zero value is
// valid: timestep unknown (0), first frame at step 0, one step per frame.
type DCDOptions struct {
	// TimestepPS is the integration timestep in picoseconds. It is stored
	// as DELTA in AKMA units; the time between frames is
	// TimestepPS*StepInterval.
	TimestepPS float64
	// FirstStep is the step number of the first frame (ISTART).
	FirstStep int
	// StepInterval is the number of steps between frames (NSAVC). Zero
	// means 1.
	StepInterval int
	// Title holds extra title lines, each padded or truncated to 80 bytes.
	// The writer always adds a first line "REMARKS Created by flowmd on
	// <date>", so at most 31 lines may be given.
	Title []string
	// Date is the creation time recorded in the title. The zero value means
	// now; set it to make the output reproducible.
	Date time.Time
	// Sync makes WriteFrame flush the frame to stable storage before it
	// patches the header, when the destination has a Sync method (as
	// *os.File does). Without it a process crash still leaves a valid file,
	// but a power loss may persist the header update and not the frame.
	Sync bool
}

// DCDHeader is the metadata of a DCD file.
type DCDHeader struct {
	// Titles are the title lines with trailing blanks and NULs removed.
	Titles []string
	// TimestepPS is DELTA converted to picoseconds (0 if unknown).
	TimestepPS float64
	// DeltaAKMA is DELTA as stored in the file.
	DeltaAKMA float64
	// FirstStep is ISTART, the step number of the first frame.
	FirstStep int
	// StepInterval is NSAVC, the number of steps between frames.
	StepInterval int
	// NSet is the frame count stored in the header. It may differ from
	// DCDReader.NFrames, which counts the complete frames in the file.
	NSet int
	// NStep is ICNTRL[3], informational only.
	NStep int
	// HasUnitCell reports a unit-cell record before every frame.
	HasUnitCell bool
	// Has4D reports a fourth coordinate record after every frame's Z.
	Has4D bool
	// CharmmVersion is ICNTRL[19]; 0 marks an X-PLOR flavoured file.
	CharmmVersion int
	// BigEndian reports the file's byte order.
	BigEndian bool
}

// UnitCell is a periodic box: edge lengths in angstrom and angles in
// degrees (α between b and c, β between a and c, γ between a and b).
type UnitCell struct {
	A, B, C            float64
	Alpha, Beta, Gamma float64
}

// byteOrder is what both binary.LittleEndian and binary.BigEndian
// implement: decoding and appending.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// layout is what the header says about where everything is in a file.
type layout struct {
	name       string
	order      byteOrder
	icntrl     [20]int32
	natoms     int
	titles     []string
	headerSize int64 // bytes from the start of the DCD to the first frame
	frameSize  int64
	cell, dim4 bool
	delta      float64
	size       int64 // bytes from the start of the DCD to the end of file
	nframes    int   // complete frames, from the file size
}

func (l *layout) header() DCDHeader {
	return DCDHeader{
		Titles:        l.titles,
		TimestepPS:    l.delta * akmaPS,
		DeltaAKMA:     l.delta,
		FirstStep:     int(l.icntrl[icIStart]),
		StepInterval:  int(l.icntrl[icNSavc]),
		NSet:          int(l.icntrl[icNSet]),
		NStep:         int(l.icntrl[icNStep]),
		HasUnitCell:   l.cell,
		Has4D:         l.dim4,
		CharmmVersion: int(l.icntrl[icVersion]),
		BigEndian:     l.order == byteOrder(binary.BigEndian),
	}
}

// parseHeader reads the three header records from rs, whose current offset
// is taken as the start of the DCD, and leaves rs at the first frame. It
// checks every length against the file size before allocating, so a
// corrupt or hostile header cannot make it allocate more than the file
// holds.
func parseHeader(rs io.ReadSeeker, name string) (*layout, error) {
	base, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := rs.Seek(base, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	l := &layout{name: name, size: end - base}
	if l.size < firstRecordEnd {
		return nil, fmt.Errorf("%s: not a DCD file: %d bytes is shorter than the %d-byte first header record", name, l.size, firstRecordEnd)
	}

	var rec1 [firstRecordEnd]byte
	if _, err := io.ReadFull(rs, rec1[:]); err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", name, err)
	}
	switch {
	case binary.LittleEndian.Uint32(rec1[:]) == firstRecordLen && string(rec1[4:8]) == "CORD":
		l.order = binary.LittleEndian
	case binary.BigEndian.Uint32(rec1[:]) == firstRecordLen && string(rec1[4:8]) == "CORD":
		l.order = binary.BigEndian
	case binary.LittleEndian.Uint64(rec1[:]) == firstRecordLen || binary.BigEndian.Uint64(rec1[:]) == firstRecordLen:
		return nil, fmt.Errorf("%s: DCD with 8-byte record markers (CHARMM built with -i8): %w", name, errors.ErrUnsupported)
	case (binary.LittleEndian.Uint32(rec1[:]) == firstRecordLen || binary.BigEndian.Uint32(rec1[:]) == firstRecordLen) && string(rec1[4:8]) == "VELD":
		return nil, fmt.Errorf("%s: DCD velocity file (VELD): %w", name, errors.ErrUnsupported)
	default:
		return nil, fmt.Errorf("%s: not a DCD file: starts with bytes % x, expected record marker 84 followed by \"CORD\"", name, rec1[:8])
	}
	for i := range l.icntrl {
		l.icntrl[i] = int32(l.order.Uint32(rec1[8+4*i:]))
	}
	if m := l.order.Uint32(rec1[88:]); m != firstRecordLen {
		return nil, fmt.Errorf("%s: header record 1: closing record marker %d, expected 84", name, m)
	}

	charmm := l.icntrl[icVersion] != 0
	if charmm {
		l.delta = float64(math.Float32frombits(uint32(l.icntrl[icDelta])))
		l.cell = l.icntrl[icCell] != 0
		// VMD tests for exactly 1; other values are left alone there too.
		l.dim4 = l.icntrl[icDim4] == 1
	} else {
		// X-PLOR stores DELTA as a float64 over ICNTRL[9] and [10] (VMD's
		// reading), which is also why [10] cannot be a unit-cell flag there.
		l.delta = math.Float64frombits(l.order.Uint64(rec1[8+4*icDelta:]))
	}
	if math.IsNaN(l.delta) || math.IsInf(l.delta, 0) {
		// A garbage DELTA must not poison arithmetic in callers; the
		// coordinates are still readable.
		l.delta = 0
	}
	if n := l.icntrl[icNamnf]; n != 0 {
		return nil, fmt.Errorf("%s: DCD with %d fixed atoms (NAMNF, ICNTRL[8]): %w", name, n, errors.ErrUnsupported)
	}

	// Record 2: titles.
	var word [4]byte
	if _, err := io.ReadFull(rs, word[:]); err != nil {
		return nil, fmt.Errorf("%s: title record: %w", name, noEOF(err))
	}
	tl := int64(l.order.Uint32(word[:]))
	if tl < 4 || (tl-4)%titleLen != 0 {
		return nil, fmt.Errorf("%s: title record: record marker %d, expected 4+80*NTITLE", name, tl)
	}
	// Title record, its closing marker and the 12-byte NATOM record.
	l.headerSize = firstRecordEnd + 4 + tl + 4 + 12
	if l.headerSize > l.size {
		return nil, fmt.Errorf("%s: title record of %d bytes does not fit in a %d-byte file", name, tl, l.size)
	}
	rec2 := make([]byte, tl+4+12)
	if _, err := io.ReadFull(rs, rec2); err != nil {
		return nil, fmt.Errorf("%s: title record: %w", name, noEOF(err))
	}
	ntitle := int64(int32(l.order.Uint32(rec2)))
	if ntitle*titleLen+4 != tl {
		return nil, fmt.Errorf("%s: title record: NTITLE %d does not match record marker %d", name, ntitle, tl)
	}
	for i := range ntitle {
		line := rec2[4+i*titleLen : 4+(i+1)*titleLen]
		l.titles = append(l.titles, strings.TrimRight(string(line), " \x00"))
	}
	if m := int64(l.order.Uint32(rec2[tl:])); m != tl {
		return nil, fmt.Errorf("%s: title record: closing record marker %d, expected %d", name, m, tl)
	}

	// Record 3: NATOM.
	rec3 := rec2[tl+4:]
	if m1, m2 := l.order.Uint32(rec3), l.order.Uint32(rec3[8:]); m1 != 4 || m2 != 4 {
		return nil, fmt.Errorf("%s: atom-count record: record markers %d and %d, expected 4", name, m1, m2)
	}
	natoms := int32(l.order.Uint32(rec3[4:]))
	if natoms <= 0 || natoms > maxAtoms {
		return nil, fmt.Errorf("%s: atom-count record: NATOM %d out of range 1..%d", name, natoms, maxAtoms)
	}
	l.natoms = int(natoms)

	dims := int64(3)
	if l.dim4 {
		dims = 4
	}
	l.frameSize = dims * (8 + 4*int64(l.natoms))
	if l.cell {
		l.frameSize += cellBlockSize
	}
	l.nframes = int((l.size - l.headerSize) / l.frameSize)
	return l, nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: inside a record, running
// out of file is corruption, not a clean end.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// DCDReader reads frames from a DCD file. It is not safe for concurrent
// use.
type DCDReader struct {
	rs      io.ReadSeeker
	closer  io.Closer // the file OpenDCD opened, nil for NewDCDReader
	l       *layout
	base    int64 // offset of the DCD in rs
	next    int   // index of the next frame ReadFrame returns
	reseek  bool  // the offset of rs is unknown (after an error)
	buf     []byte
	cell    UnitCell
	hasCell bool
}

// OpenDCD opens a DCD file for reading.
func OpenDCD(path string) (*DCDReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := newDCDReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewDCDReader reads a DCD from rs, starting at its current offset. Error
// messages name the file when rs has a Name method (as *os.File does).
func NewDCDReader(rs io.ReadSeeker) (*DCDReader, error) {
	return newDCDReader(rs, nameOf(rs))
}

func nameOf(v any) string {
	if n, ok := v.(interface{ Name() string }); ok {
		return n.Name()
	}
	return "dcd"
}

func newDCDReader(rs io.ReadSeeker, name string) (*DCDReader, error) {
	base, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	l, err := parseHeader(rs, name)
	if err != nil {
		return nil, err
	}
	return &DCDReader{rs: rs, l: l, base: base}, nil
}

// NAtoms returns the number of atoms per frame.
func (r *DCDReader) NAtoms() int { return r.l.natoms }

// NFrames returns the number of complete frames in the file, computed from
// the file size when it was opened. Header().NSet may claim more (a file
// cut short) or fewer (a writer killed before updating the header).
func (r *DCDReader) NFrames() int { return r.l.nframes }

// Header returns the file's metadata.
func (r *DCDReader) Header() DCDHeader { return r.l.header() }

// UnitCell returns the unit cell of the frame last read, if the file has
// unit-cell records. Angles stored as cosines (CHARMM since c25, NAMD
// since 2.5) are converted to degrees, as VMD does.
func (r *DCDReader) UnitCell() (UnitCell, bool) { return r.cell, r.hasCell }

// SeekFrame positions the reader so that the next ReadFrame returns frame
// i (0-based); i == NFrames() positions it at the end.
func (r *DCDReader) SeekFrame(i int) error {
	if i < 0 || i > r.l.nframes {
		return fmt.Errorf("%s: seek to frame %d: file has %d frames", r.l.name, i, r.l.nframes)
	}
	r.next = i
	r.reseek = true
	return nil
}

// ReadFrame reads the next frame into x, which must hold 3*NAtoms()
// values, laid out atom by atom (x0 y0 z0 x1 ...) in angstrom. It returns
// io.EOF after the last complete frame. Frame numbers in errors are
// 0-based.
func (r *DCDReader) ReadFrame(x []float64) error {
	l := r.l
	if len(x) != 3*l.natoms {
		return fmt.Errorf("%s: ReadFrame: buffer holds %d values, need %d for %d atoms", l.name, len(x), 3*l.natoms, l.natoms)
	}
	if r.next >= l.nframes {
		return io.EOF
	}
	off := l.headerSize + int64(r.next)*l.frameSize
	if r.reseek {
		if _, err := r.rs.Seek(r.base+off, io.SeekStart); err != nil {
			return fmt.Errorf("%s: frame %d: %w", l.name, r.next, err)
		}
		r.reseek = false
	}
	if r.buf == nil {
		// NFrames > 0 guarantees the file holds at least frameSize bytes,
		// so this allocation is bounded by the file size.
		r.buf = make([]byte, l.frameSize)
	}
	if _, err := io.ReadFull(r.rs, r.buf); err != nil {
		r.reseek = true
		return fmt.Errorf("%s: frame %d at byte %d: %w", l.name, r.next, off, noEOF(err))
	}
	if err := r.decode(x); err != nil {
		// The bytes were consumed; a retry would read the next frame, so
		// make it re-read this one and fail the same way instead.
		r.reseek = true
		return err
	}
	r.next++
	return nil
}

// decode unpacks r.buf, one frame, into x.
func (r *DCDReader) decode(x []float64) error {
	l, b := r.l, r.buf
	marker := func(at int, want uint32, what string) error {
		if m := l.order.Uint32(b[at:]); m != want {
			if what == "unit-cell" {
				return fmt.Errorf("%s: frame %d: unit-cell record marker %d, expected %d", l.name, r.next, m, want)
			}
			return fmt.Errorf("%s: frame %d: %s record marker %d, expected %d for %d atoms", l.name, r.next, what, m, want, l.natoms)
		}
		return nil
	}
	p := 0
	if l.cell {
		if err := marker(p, cellRecordLen, "unit-cell"); err != nil {
			return err
		}
		if err := marker(p+4+cellRecordLen, cellRecordLen, "unit-cell"); err != nil {
			return err
		}
		var u [6]float64
		for i := range u {
			u[i] = math.Float64frombits(l.order.Uint64(b[p+4+8*i:]))
		}
		r.cell, r.hasCell = cellFromCHARMM(u), true
		p += cellBlockSize
	}
	n := l.natoms
	recLen := uint32(4 * n)
	for d, what := range []string{"X", "Y", "Z"} {
		if err := marker(p, recLen, what); err != nil {
			return err
		}
		if err := marker(p+4+4*n, recLen, what); err != nil {
			return err
		}
		data := b[p+4 : p+4+4*n]
		for i := range n {
			x[3*i+d] = float64(math.Float32frombits(l.order.Uint32(data[4*i:])))
		}
		p += 8 + 4*n
	}
	if l.dim4 {
		if err := marker(p, recLen, "4th-dimension"); err != nil {
			return err
		}
		if err := marker(p+4+4*n, recLen, "4th-dimension"); err != nil {
			return err
		}
	}
	return nil
}

// cellFromCHARMM converts CHARMM's [A, γ, B, β, α, C] to a UnitCell. If all
// three angle slots lie in [-1, 1] they are cosines (no real cell has
// angles of at most 1 degree), otherwise degrees; this is VMD's rule.
func cellFromCHARMM(u [6]float64) UnitCell {
	c := UnitCell{A: u[0], B: u[2], C: u[5], Alpha: u[4], Beta: u[3], Gamma: u[1]}
	isCos := func(v float64) bool { return v >= -1 && v <= 1 }
	if isCos(u[1]) && isCos(u[3]) && isCos(u[4]) {
		deg := func(cos float64) float64 { return math.Acos(cos) * 180 / math.Pi }
		c.Alpha, c.Beta, c.Gamma = deg(u[4]), deg(u[3]), deg(u[1])
	}
	return c
}

// ReadAll reads the remaining frames, from the current one to the end.
func (r *DCDReader) ReadAll() ([][]float64, error) {
	n := r.l.nframes - r.next
	if n <= 0 {
		return nil, nil
	}
	// One backing array; its size is bounded by twice the file size since
	// every float32 on disk becomes one float64.
	stride := 3 * r.l.natoms
	all := make([]float64, n*stride)
	frames := make([][]float64, n)
	for i := range frames {
		frames[i] = all[i*stride : (i+1)*stride : (i+1)*stride]
		if err := r.ReadFrame(frames[i]); err != nil {
			return frames[:i], err
		}
	}
	return frames, nil
}

// Close closes the file opened by OpenDCD. For a reader made by
// NewDCDReader it does nothing.
func (r *DCDReader) Close() error {
	if r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	return c.Close()
}

// DCDWriter writes frames to a DCD file, keeping the file a valid DCD after
// every frame (see the package documentation). It is not safe for
// concurrent use.
type DCDWriter struct {
	w      io.WriteSeeker
	file   *os.File // closed by Close; nil for NewDCDWriter
	name   string
	order  byteOrder
	natoms int
	istart int32
	nsavc  int32
	base   int64 // offset of the DCD in w
	end    int64 // offset, relative to base, after the last complete frame
	nset   int
	sync   bool
	buf    []byte
	err    error // sticky: after a failed write the file state is unknown
	closed bool
}

// CreateDCD creates (or truncates, like os.Create) the file at path and
// writes a DCD header for natoms atoms.
func CreateDCD(path string, natoms int, opts DCDOptions) (*DCDWriter, error) {
	hdr, err := encodeHeader(natoms, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w, err := newWriter(f, path, natoms, opts, hdr)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.file = f
	return w, nil
}

// NewDCDWriter writes a DCD header for natoms atoms to w at its current
// offset and returns a writer for the frames. Nothing must follow that
// offset in w, or readers will count it as frames. Close does not close w.
func NewDCDWriter(w io.WriteSeeker, natoms int, opts DCDOptions) (*DCDWriter, error) {
	name := nameOf(w)
	hdr, err := encodeHeader(natoms, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return newWriter(w, name, natoms, opts, hdr)
}

func newWriter(w io.WriteSeeker, name string, natoms int, opts DCDOptions, hdr []byte) (*DCDWriter, error) {
	base, err := w.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, fmt.Errorf("%s: writing header: %w", name, err)
	}
	dw := &DCDWriter{
		w:      w,
		name:   name,
		order:  binary.LittleEndian,
		natoms: natoms,
		istart: int32(opts.FirstStep),
		nsavc:  int32(stepInterval(opts)),
		base:   base,
		end:    int64(len(hdr)),
		sync:   opts.Sync,
	}
	if err := dw.syncFile(); err != nil {
		return nil, err
	}
	return dw, nil
}

func stepInterval(opts DCDOptions) int {
	if opts.StepInterval == 0 {
		return 1
	}
	return opts.StepInterval
}

// encodeHeader builds the three header records for a new file with no
// frames.
func encodeHeader(natoms int, opts DCDOptions) ([]byte, error) {
	if natoms <= 0 || natoms > maxAtoms {
		return nil, fmt.Errorf("DCD atom count %d out of range 1..%d", natoms, maxAtoms)
	}
	if opts.FirstStep < 0 || opts.FirstStep > math.MaxInt32 {
		return nil, fmt.Errorf("DCD first step %d out of range 0..%d", opts.FirstStep, math.MaxInt32)
	}
	if opts.StepInterval < 0 || opts.StepInterval > math.MaxInt32 {
		return nil, fmt.Errorf("DCD step interval %d out of range 1..%d", opts.StepInterval, math.MaxInt32)
	}
	delta := opts.TimestepPS / akmaPS
	if !(opts.TimestepPS >= 0) || math.IsInf(float64(float32(delta)), 0) {
		return nil, fmt.Errorf("DCD timestep %g ps is not a non-negative float32 in AKMA units", opts.TimestepPS)
	}
	if len(opts.Title)+1 > maxTitles {
		return nil, fmt.Errorf("DCD allows %d title lines; got %d plus the creation line", maxTitles, len(opts.Title))
	}
	date := opts.Date
	if date.IsZero() {
		date = time.Now()
	}
	titles := append([]string{"REMARKS Created by flowmd on " + date.UTC().Format("2006-01-02 15:04:05 MST")}, opts.Title...)

	le := binary.LittleEndian
	var icntrl [20]uint32
	icntrl[icNSet] = 0 // no frames yet; WriteFrame patches it
	icntrl[icIStart] = uint32(opts.FirstStep)
	icntrl[icNSavc] = uint32(stepInterval(opts))
	icntrl[icNStep] = 0
	icntrl[icDelta] = math.Float32bits(float32(delta))
	icntrl[icCell] = 0 // no unit cell: flowmd's systems are in vacuum
	icntrl[icVersion] = charmmVersion

	tl := 4 + titleLen*len(titles)
	b := make([]byte, 0, firstRecordEnd+4+tl+4+12)
	b = le.AppendUint32(b, firstRecordLen)
	b = append(b, "CORD"...)
	for _, v := range icntrl {
		b = le.AppendUint32(b, v)
	}
	b = le.AppendUint32(b, firstRecordLen)

	b = le.AppendUint32(b, uint32(tl))
	b = le.AppendUint32(b, uint32(len(titles)))
	for _, t := range titles {
		b = append(b, padTitle(t)...)
	}
	b = le.AppendUint32(b, uint32(tl))

	b = le.AppendUint32(b, 4)
	b = le.AppendUint32(b, uint32(natoms))
	b = le.AppendUint32(b, 4)
	return b, nil
}

// padTitle returns t as exactly 80 bytes: space padded, or truncated at a
// rune boundary so the line stays valid UTF-8.
func padTitle(t string) []byte {
	t = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == 0 {
			return ' '
		}
		return r
	}, t)
	for len(t) > titleLen {
		_, size := utf8.DecodeLastRuneInString(t)
		t = t[:len(t)-size]
	}
	b := make([]byte, titleLen)
	n := copy(b, t)
	for i := n; i < titleLen; i++ {
		b[i] = ' '
	}
	return b
}

// OpenDCDAppend opens an existing DCD file to add frames, as a resumed run
// does. The file must have natoms atoms and no unit-cell, 4th-dimension or
// fixed-atom data. Bytes after the last complete frame, left by a crash in
// the middle of a frame, are cut off, and the header's frame count is set
// to the number of complete frames before the first new frame is written.
func OpenDCDAppend(path string, natoms int) (*DCDWriter, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	w, err := openAppend(f, path, natoms)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func openAppend(f *os.File, path string, natoms int) (*DCDWriter, error) {
	l, err := parseHeader(f, path)
	if err != nil {
		return nil, err
	}
	if l.natoms != natoms {
		return nil, fmt.Errorf("%s: cannot append frames of %d atoms to a DCD of %d atoms", path, natoms, l.natoms)
	}
	if l.cell || l.dim4 {
		return nil, fmt.Errorf("%s: appending to a DCD with unit-cell or 4th-dimension records: %w", path, errors.ErrUnsupported)
	}
	w := &DCDWriter{
		w:      f,
		file:   f,
		name:   path,
		order:  l.order,
		natoms: natoms,
		istart: l.icntrl[icIStart],
		nsavc:  l.icntrl[icNSavc],
		end:    l.headerSize + int64(l.nframes)*l.frameSize,
		nset:   l.nframes,
	}
	if l.size > w.end {
		if err := f.Truncate(w.end); err != nil {
			return nil, fmt.Errorf("%s: cutting off partial frame: %w", path, err)
		}
	}
	if err := w.patchHeader(); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// TruncateDCD cuts the DCD file at path back to its first frames frames and
// updates the header to match. A resumed run calls it with the frame count
// of its checkpoint, so that the frames it writes again replace those
// written after the checkpoint and the final file is byte for byte the
// file of an uninterrupted run.
func TruncateDCD(path string, frames int) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = truncate(f, path, frames)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: %w", path, cerr)
	}
	return err
}

func truncate(f *os.File, path string, frames int) error {
	l, err := parseHeader(f, path)
	if err != nil {
		return err
	}
	if frames < 0 || frames > l.nframes {
		return fmt.Errorf("%s: cannot truncate to %d frames: file has %d complete frames", path, frames, l.nframes)
	}
	w := &DCDWriter{
		w:      f,
		name:   path,
		order:  l.order,
		natoms: l.natoms,
		istart: l.icntrl[icIStart],
		nsavc:  l.icntrl[icNSavc],
		end:    l.headerSize + int64(frames)*l.frameSize,
		nset:   frames,
	}
	// Patch the count before cutting, so that a crash in between leaves a
	// header that does not claim frames that are gone.
	if err := w.patchHeader(); err != nil {
		return err
	}
	if err := f.Truncate(w.end); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// NAtoms returns the number of atoms per frame.
func (w *DCDWriter) NAtoms() int { return w.natoms }

// NFrames returns the number of frames in the file, including those that
// were there before OpenDCDAppend.
func (w *DCDWriter) NFrames() int { return w.nset }

// WriteFrame appends one frame. x holds 3*NAtoms() coordinates in
// angstrom, atom by atom (x0 y0 z0 x1 ...); they are stored as float32.
// The frame is written in full before the header's frame count is
// updated, so the file is a valid DCD with exactly the frames written so
// far whenever WriteFrame returns, and a crash during the call leaves at
// worst a trailing partial frame that readers ignore. After a write error
// the writer refuses further frames.
func (w *DCDWriter) WriteFrame(x []float64) error {
	if w.closed {
		return fmt.Errorf("%s: WriteFrame after Close", w.name)
	}
	if w.err != nil {
		return w.err
	}
	n := w.natoms
	if len(x) != 3*n {
		return fmt.Errorf("%s: frame %d: got %d coordinates, need %d for %d atoms", w.name, w.nset, len(x), 3*n, n)
	}
	if w.nset == math.MaxInt32 {
		return fmt.Errorf("%s: frame %d: DCD frame count limit reached", w.name, w.nset)
	}
	for i, v := range x {
		if f := float64(float32(v)); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s: frame %d: atom %d %c coordinate %g cannot be stored as float32", w.name, w.nset, i/3, "xyz"[i%3], v)
		}
	}
	if w.buf == nil {
		w.buf = make([]byte, 3*(8+4*n))
	}
	b := w.buf[:0]
	recLen := uint32(4 * n)
	for d := range 3 {
		b = w.order.AppendUint32(b, recLen)
		for i := range n {
			b = w.order.AppendUint32(b, math.Float32bits(float32(x[3*i+d])))
		}
		b = w.order.AppendUint32(b, recLen)
	}

	// The offset is at the end of the last complete frame: the header
	// write and every patchHeader leave it there.
	if _, err := w.w.Write(b); err != nil {
		return w.fail(err)
	}
	w.end += int64(len(b))
	w.nset++
	if err := w.syncFile(); err != nil {
		return err
	}
	return w.patchHeader()
}

// patchHeader writes NSET, ISTART, NSAVC and NSTEP (16 adjacent bytes) and
// moves the offset back to the end of the last frame.
func (w *DCDWriter) patchHeader() error {
	nstep := min(int64(w.nset)*int64(w.nsavc), math.MaxInt32) // informational; saturate rather than fail
	var b [16]byte
	w.order.PutUint32(b[0:], uint32(w.nset))
	w.order.PutUint32(b[4:], uint32(w.istart))
	w.order.PutUint32(b[8:], uint32(w.nsavc))
	w.order.PutUint32(b[12:], uint32(nstep))
	if _, err := w.w.Seek(w.base+offNSet, io.SeekStart); err != nil {
		return w.fail(err)
	}
	if _, err := w.w.Write(b[:]); err != nil {
		return w.fail(err)
	}
	if _, err := w.w.Seek(w.base+w.end, io.SeekStart); err != nil {
		return w.fail(err)
	}
	return nil
}

func (w *DCDWriter) syncFile() error {
	if !w.sync {
		return nil
	}
	s, ok := w.w.(interface{ Sync() error })
	if !ok {
		return nil
	}
	if err := s.Sync(); err != nil {
		return w.fail(err)
	}
	return nil
}

func (w *DCDWriter) fail(err error) error {
	w.err = fmt.Errorf("%s: after frame %d: %w", w.name, w.nset, err)
	return w.err
}

// Close finishes the file. It closes the file opened by CreateDCD or
// OpenDCDAppend (not the io.WriteSeeker given to NewDCDWriter) and returns
// the first write error, if any. The header is already up to date after
// every frame, so Close has nothing left to write. Calling Close again
// returns nil.
func (w *DCDWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.err
	if w.file != nil {
		if w.sync && err == nil {
			if serr := w.file.Sync(); serr != nil {
				err = fmt.Errorf("%s: %w", w.name, serr)
			}
		}
		if cerr := w.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%s: %w", w.name, cerr)
		}
	}
	return err
}
