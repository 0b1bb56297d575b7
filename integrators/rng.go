package integrators

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Streams are independent random streams, one per walker plus one per
// replica group for replica-exchange decisions. Each is a PCG generator
// seeded with the run's seed and the stream's index, so a walker's numbers do
// not depend on how many walkers there are or which goroutine moves it.
type Streams struct {
	seed uint64
	src  []*rand.PCG
	rngs []*rand.Rand
}

// NewStreams returns n streams for a seed.
func NewStreams(seed uint64, n int) *Streams {
	s := &Streams{seed: seed}
	s.grow(n)
	return s
}

func (s *Streams) grow(n int) {
	for i := len(s.src); i < n; i++ {
		// The second word separates the streams; mixing the index through
		// a large odd constant keeps neighbouring streams unrelated.
		pcg := rand.NewPCG(s.seed, uint64(i)*0x9e3779b97f4a7c15+1)
		s.src = append(s.src, pcg)
		s.rngs = append(s.rngs, rand.New(pcg))
	}
}

// Len returns the number of streams.
func (s *Streams) Len() int { return len(s.rngs) }

// At returns stream i.
func (s *Streams) At(i int) *rand.Rand { return s.rngs[i] }

// MarshalBinary saves the state of every stream, for checkpoints.
func (s *Streams) MarshalBinary() ([]byte, error) {
	out := binary.LittleEndian.AppendUint64(nil, s.seed)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(s.src)))
	for _, p := range s.src {
		b, err := p.MarshalBinary()
		if err != nil {
			return nil, err
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(len(b)))
		out = append(out, b...)
	}
	return out, nil
}

// UnmarshalBinary restores streams saved by MarshalBinary.
func (s *Streams) UnmarshalBinary(data []byte) error {
	if len(data) < 12 {
		return fmt.Errorf("random streams: checkpoint data too short")
	}
	s.seed = binary.LittleEndian.Uint64(data)
	n := int(binary.LittleEndian.Uint32(data[8:]))
	data = data[12:]
	s.src, s.rngs = nil, nil
	s.grow(n)
	for i := 0; i < n; i++ {
		if len(data) < 4 {
			return fmt.Errorf("random streams: checkpoint data truncated at stream %d", i)
		}
		l := int(binary.LittleEndian.Uint32(data))
		if len(data) < 4+l {
			return fmt.Errorf("random streams: checkpoint data truncated at stream %d", i)
		}
		if err := s.src[i].UnmarshalBinary(data[4 : 4+l]); err != nil {
			return fmt.Errorf("random streams: stream %d: %w", i, err)
		}
		data = data[4+l:]
	}
	return nil
}
