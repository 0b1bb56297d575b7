// Package dataset writes and reads NumPy .npz datasets: named arrays that
// numpy.load opens, such as coordinates [frames, atoms, 3] in angstrom,
// energies, per-term energies, temperatures and replica indices.
//
// A Writer appends frames to one raw part file per array while a run goes
// on, so memory does not grow with the run, and assembles the .npz from the
// parts when asked (at checkpoints and at the end): it writes a temporary
// file and renames it over the previous one, so the .npz on disk is always a
// complete archive of the frames flushed so far. A resumed run truncates the
// parts back to the frame count of its checkpoint.
//
// Arrays are float64 ('<f8'), int64 ('<i8') or fixed-width unicode strings
// ('<U'), little-endian and C-ordered, in NPY format 1.0.
package dataset
