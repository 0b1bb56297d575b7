package flows

import (
	"math/rand/v2"

	"github.com/flowmd/flowmd/nn"
)

// Placer is the thesis' deterministic hydrogen placer G^H: a dense network
// with CELU from the generated atoms' coordinates to the placed atoms'
// positions relative to the atoms they are bonded to. Its last layer
// starts at zero weights and a bias equal to the reference offsets, so it
// starts by putting every hydrogen where the reference structure has it
// relative to its parent.
type Placer struct {
	spec   GeneratorSpec
	net    *nn.MLP[float64] // offsets relative to base lo (Retype), see useFloat32
	net64  *nn.MLP[float64]
	net32  *nn.MLP[float32]
	p32    *[]float32
	lo, hi int
	slot   []int // the place of each placed atom's parent among the generated
}

type placerCache struct {
	out              []float64 // n x 3 placed, the offsets
	mlp              nn.MLPCache[float64]
	mlp32            nn.MLPCache[float32]
	in32, out32, d32 []float32
	dx32             []float32
	dnet             []float64
	dx               []float64
	grad             []float64
	grad32           []float32
}

func newPlacer(s *nn.Set, gs GeneratorSpec, rng *rand.Rand) *Placer {
	sizes := []int{3 * len(gs.Generated)}
	for i := 0; i < gs.PlacerLayers; i++ {
		sizes = append(sizes, gs.PlacerHidden)
	}
	sizes = append(sizes, 3*len(gs.Placed))
	full := nn.NewMLP[float64](s, "placer", sizes, nn.CELU, true, rng)
	last := full.Layers[len(full.Layers)-1]
	copy(last.B.Of(s.Values), gs.Offsets)
	p := &Placer{spec: gs, net64: full}
	index := make(map[int]int, len(gs.Generated))
	for j, a := range gs.Generated {
		index[a] = j
	}
	for _, par := range gs.Parents {
		p.slot = append(p.slot, index[par])
	}
	p.lo, p.hi = full.Span()
	// The placer's gradient is gathered per chunk over its own span.
	p.net = nn.Retype[float64](full, p.lo)
	return p
}

func (p *Placer) useFloat32(p32 *[]float32) {
	p.p32 = p32
	p.net32 = nn.Retype[float32](p.net64, p.lo)
}

// place writes the placed atoms of n configurations x from the generated
// atoms' coordinates heavy.
func (p *Placer) place(params []float64, n int, heavy, x []float64, c *placerCache) {
	np, ng, N := 3*len(p.spec.Placed), 3*len(p.spec.Generated), 3*p.spec.Atoms
	c.out = grow(c.out, n*np)
	if p.net32 != nil {
		c.in32 = grow32(c.in32, n*ng)
		c.out32 = grow32(c.out32, n*np)
		convert(c.in32, heavy[:n*ng])
		p.net32.Forward((*p.p32)[p.lo:p.hi], n, c.in32, c.out32, &c.mlp32)
		convert(c.out, c.out32)
	} else {
		p.net.Forward(params[p.lo:p.hi], n, heavy[:n*ng], c.out, &c.mlp)
	}
	for r := 0; r < n; r++ {
		row := x[r*N : (r+1)*N]
		for j, a := range p.spec.Placed {
			par := p.spec.Parents[j]
			for k := 0; k < 3; k++ {
				row[3*a+k] = row[3*par+k] + c.out[r*np+3*j+k]
			}
		}
	}
}

// backward takes the cotangents dout of whole configurations, adds the
// cotangents of the generated atoms' coordinates into dheavy and returns
// this chunk's gradient of the placer's parameters (its span only).
func (p *Placer) backward(params []float64, n int, heavy, dout, dheavy []float64, c *placerCache) []float64 {
	np, ng, N := 3*len(p.spec.Placed), 3*len(p.spec.Generated), 3*p.spec.Atoms
	c.dnet = grow(c.dnet, n*np)
	c.dx = grow(c.dx, n*ng)
	c.grad = grow(c.grad, p.hi-p.lo)
	clear(c.grad)
	// x_H = x_parent + out: the offset's cotangent is that of x_H, and the
	// parent's coordinates get it too.
	for r := 0; r < n; r++ {
		for j, a := range p.spec.Placed {
			par := p.slot[j]
			for k := 0; k < 3; k++ {
				d := dout[r*N+3*a+k]
				c.dnet[r*np+3*j+k] = d
				dheavy[r*ng+3*par+k] += d
			}
		}
	}
	if p.net32 != nil {
		c.d32 = grow32(c.d32, n*np)
		c.dx32 = grow32(c.dx32, n*ng)
		c.grad32 = grow32(c.grad32, p.hi-p.lo)
		clear(c.grad32)
		convert(c.d32, c.dnet)
		p.net32.Backward((*p.p32)[p.lo:p.hi], c.grad32, n, c.in32, c.d32, c.dx32, &c.mlp32)
		convert(c.dx, c.dx32)
		convert(c.grad, c.grad32)
	} else {
		p.net.Backward(params[p.lo:p.hi], c.grad, n, heavy[:n*ng], c.dnet, c.dx, &c.mlp)
	}
	for i, v := range c.dx {
		dheavy[i] += v
	}
	return c.grad
}
