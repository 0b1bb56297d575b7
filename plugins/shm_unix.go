//go:build linux || darwin

package plugins

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// sharedRegion is a file mapped shared and read-write by the host and a
// plugin, through which batches cross as one memory copy.
type sharedRegion struct {
	path string
	mem  []byte
}

// sharedSupported reports whether this build can share memory with plugins.
const sharedSupported = true

// newSharedRegion creates a region of size bytes in /dev/shm (memory, not
// disk) when the system has it, else in the temporary folder. The file is
// readable by its owner only.
func newSharedRegion(size int) (*sharedRegion, error) {
	dir := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir = "/dev/shm"
	}
	f, err := os.CreateTemp(dir, "flowmd-shm-*")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return &sharedRegion{path: f.Name(), mem: mem}, nil
}

// openSharedRegion maps a region the host created.
func openSharedRegion(path string, size int) (*sharedRegion, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < int64(size) || size <= 0 {
		return nil, fmt.Errorf("shared region %s holds %d bytes, %d announced", path, st.Size(), size)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return &sharedRegion{path: path, mem: mem}, nil
}

// floats returns n float64s of the region at byte offset off, or nil if
// they do not fit or are misaligned.
func (r *sharedRegion) floats(off, n int) []float64 {
	if off < 0 || n < 0 || off%8 != 0 || off+8*n > len(r.mem) {
		return nil
	}
	if n == 0 {
		return []float64{}
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(&r.mem[off])), n)
}

func (r *sharedRegion) size() int { return len(r.mem) }

// unlink removes the file; the mappings stay valid.
func (r *sharedRegion) unlink() { os.Remove(r.path) }

func (r *sharedRegion) close() error {
	if r == nil || r.mem == nil {
		return nil
	}
	err := syscall.Munmap(r.mem)
	r.mem = nil
	return err
}
