//go:build !linux && !darwin

package plugins

import "errors"

// Elsewhere batches always travel inline in the gRPC messages.

type sharedRegion struct{ path string }

const sharedSupported = false

var errNoShared = errors.New("shared memory with plugins is not supported on this system")

func newSharedRegion(int) (*sharedRegion, error)          { return nil, errNoShared }
func openSharedRegion(string, int) (*sharedRegion, error) { return nil, errNoShared }
func (*sharedRegion) floats(int, int) []float64           { return nil }
func (*sharedRegion) size() int                           { return 0 }
func (*sharedRegion) unlink()                             {}
func (*sharedRegion) close() error                        { return nil }
