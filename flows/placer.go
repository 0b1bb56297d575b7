package flows

import (
	"math"
	"math/rand/v2"
	"slices"

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
	// frame holds, per placed atom, the places of its frame atoms A and B
	// among the generated (-1 for a global offset).
	frame [][2]int
	// scale maps a stochastic placer's latent numbers to offsets
	// (GeneratorSpec.Stochastic); nil for a deterministic placer.
	scale *groupScale
	// parentGroup is, per group of interchangeable atoms, the scale's
	// group that holds them.
	parentGroup []int
	// orders lists, per group of interchangeable atoms, every order of
	// the group (permutations of its places in Placed).
	orders [][][]int
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
	// For a stochastic placer: its triangles L, their gradient, and after
	// an inverse pass the placed atoms' vectors from their parents and,
	// per row and placed atom, the placed atom whose coordinates it took
	// (itself unless its group was reordered).
	L, gscale, rel []float64
	src            []int
	local          []vec3
	y, z, dy       []float64
	// q holds each placed atom's spherical coordinates (see scale.go).
	q []float64
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
	for j, par := range gs.Parents {
		p.slot = append(p.slot, index[par])
		f := [2]int{-1, -1}
		if len(gs.Frames) > 0 && gs.Frames[2*j] >= 0 {
			f = [2]int{index[gs.Frames[2*j]], index[gs.Frames[2*j+1]]}
		}
		p.frame = append(p.frame, f)
	}
	p.lo, p.hi = full.Span()
	for _, grp := range gs.Interchangeable {
		p.orders = append(p.orders, permutations(grp))
	}
	if gs.Stochastic {
		// The network starts at the reference's spherical coordinates.
		b := last.B.Of(s.Values)
		for j := range gs.Placed {
			q := toSpherical(vec3(gs.Offsets[3*j : 3*j+3]))
			copy(b[3*j:3*j+3], q[:])
		}
		// After the network, so that the scale joins the placer's
		// optimizer group.
		p.scale = newGroupScale(s, gs.Parents)
		for _, grp := range gs.Interchangeable {
			for g, sg := range p.scale.groups {
				if slices.Contains(sg, grp[0]) {
					p.parentGroup = append(p.parentGroup, g)
				}
			}
		}
	}
	// The placer's gradient is gathered per chunk over its own span.
	p.net = nn.Retype[float64](full, p.lo)
	return p
}

func (p *Placer) useFloat32(p32 *[]float32) {
	p.p32 = p32
	p.net32 = nn.Retype[float32](p.net64, p.lo)
}

// place writes the placed atoms of n configurations x from the generated
// atoms' coordinates heavy. A stochastic placer's network gives the
// means of the spherical coordinates q, to which it adds L zh (zh in rows
// of 3 per placed atom), and adds log |det dv/dq| to ld; a stochastic
// placer with zh nil places at the means, a deterministic one ignores zh
// and ld.
func (p *Placer) place(params []float64, n int, heavy, x, zh, ld []float64, c *placerCache) {
	np, ng, N := 3*len(p.spec.Placed), 3*len(p.spec.Generated), 3*p.spec.Atoms
	c.out = grow(c.out, n*np)
	p.offsets(params, n, heavy, c)
	if p.scale != nil {
		// c.out then holds the Cartesian offsets, which is what the
		// frame's cotangent in backward needs, and c.q the spherical.
		c.q = grow(c.q, n*np)
		copy(c.q, c.out[:n*np])
		if zh != nil {
			c.L = p.scale.matrices(params, c.L)
			for r := 0; r < n; r++ {
				p.scale.apply(c.L, zh[r*np:(r+1)*np], c.q[r*np:(r+1)*np])
			}
		}
		for r := 0; r < n; r++ {
			for j := range p.spec.Placed {
				q := vec3(c.q[r*np+3*j : r*np+3*j+3])
				v, _ := fromSpherical(q)
				copy(c.out[r*np+3*j:r*np+3*j+3], v[:])
				if ld != nil {
					l, _, _ := sphericalLogDet(q)
					ld[r] += l
				}
			}
		}
	}
	for r := 0; r < n; r++ {
		row := x[r*N : (r+1)*N]
		hv := heavy[r*ng : (r+1)*ng]
		for j, a := range p.spec.Placed {
			par := p.spec.Parents[j]
			off := c.out[r*np+3*j : r*np+3*j+3]
			if p.frame[j][0] < 0 {
				for k := 0; k < 3; k++ {
					row[3*a+k] = row[3*par+k] + off[k]
				}
				continue
			}
			e, _ := localFrame(hv, p.slot[j], p.frame[j][0], p.frame[j][1])
			for k := 0; k < 3; k++ {
				row[3*a+k] = row[3*par+k] + off[0]*e[0][k] + off[1]*e[1][k] + off[2]*e[2][k]
			}
		}
	}
}

// offsets runs the network: c.out gets the placed atoms' offsets (the
// Gaussians' means for a stochastic placer) of n rows of generated atoms.
func (p *Placer) offsets(params []float64, n int, heavy []float64, c *placerCache) {
	np, ng := 3*len(p.spec.Placed), 3*len(p.spec.Generated)
	c.out = grow(c.out, n*np)
	if p.net32 != nil {
		c.in32 = grow32(c.in32, n*ng)
		c.out32 = grow32(c.out32, n*np)
		convert(c.in32, heavy[:n*ng])
		p.net32.Forward((*p.p32)[p.lo:p.hi], n, c.in32, c.out32, &c.mlp32)
		convert(c.out, c.out32)
	} else {
		p.net.Forward(params[p.lo:p.hi], n, heavy[:n*ng], c.out[:n*np], &c.mlp)
	}
}

// frameParts are what the backward pass of localFrame needs.
type frameParts struct {
	u, v, w    vec3
	nu, nw, vd float64 // |u|, |w|, v . e1
}

type vec3 = [3]float64

// LocalFrame returns the orthonormal frame (e1, e2, e3) of the placer's
// GeneratorSpec.Frames at atom p of coordinates x (3 numbers per atom):
// e1 along p->a, e2 the part of p->b orthogonal to e1, e3 = e1 x e2.
func LocalFrame(x []float64, p, a, b int) [3][3]float64 {
	e, _ := localFrame(x, p, a, b)
	return e
}

// localFrame is LocalFrame with the parts its backward pass needs.
func localFrame(heavy []float64, p, a, b int) (e [3]vec3, f frameParts) {
	for k := 0; k < 3; k++ {
		f.u[k] = heavy[3*a+k] - heavy[3*p+k]
		f.v[k] = heavy[3*b+k] - heavy[3*p+k]
	}
	f.nu = math.Sqrt(dot3(f.u, f.u))
	for k := 0; k < 3; k++ {
		e[0][k] = f.u[k] / f.nu
	}
	f.vd = dot3(f.v, e[0])
	for k := 0; k < 3; k++ {
		f.w[k] = f.v[k] - f.vd*e[0][k]
	}
	f.nw = math.Sqrt(dot3(f.w, f.w))
	for k := 0; k < 3; k++ {
		e[1][k] = f.w[k] / f.nw
	}
	e[2] = cross3(e[0], e[1])
	return e, f
}

// localFrameBackward takes the cotangents g of (e1, e2, e3) and adds those
// of the atoms p, a and b into dheavy.
func localFrameBackward(e [3]vec3, f frameParts, g [3]vec3, p, a, b int, dheavy []float64) {
	// e3 = e1 x e2
	g1 := add3(g[0], cross3(e[1], g[2]))
	g2 := add3(g[1], cross3(g[2], e[0]))
	// e2 = w / |w|
	var dw vec3
	d := dot3(e[1], g2)
	for k := 0; k < 3; k++ {
		dw[k] = (g2[k] - e[1][k]*d) / f.nw
	}
	// w = v - (v . e1) e1
	de := dot3(e[0], dw)
	var dv vec3
	for k := 0; k < 3; k++ {
		dv[k] = dw[k] - e[0][k]*de
		g1[k] += -f.v[k]*de - f.vd*dw[k]
	}
	// e1 = u / |u|
	var du vec3
	d = dot3(e[0], g1)
	for k := 0; k < 3; k++ {
		du[k] = (g1[k] - e[0][k]*d) / f.nu
	}
	for k := 0; k < 3; k++ {
		dheavy[3*a+k] += du[k]
		dheavy[3*b+k] += dv[k]
		dheavy[3*p+k] -= du[k] + dv[k]
	}
}

func dot3(a, b vec3) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func cross3(a, b vec3) vec3 {
	return vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func add3(a, b vec3) vec3 { return vec3{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }

// backward takes the cotangents dout of whole configurations, adds the
// cotangents of the generated atoms' coordinates into dheavy and returns
// this chunk's gradient of the placer's network (its span only; nil, and
// not computed, without params). After a
// stochastic placement (zh not nil) it also writes the cotangents of zh
// into dzh and leaves the scale's gradient in c.gscale, with dld the
// cotangents of the rows' log-determinants (which hold log |det L|).
func (p *Placer) backward(params []float64, n int, heavy, dout, dheavy, zh, dzh, dld []float64, c *placerCache, withParams bool) []float64 {
	np, ng, N := 3*len(p.spec.Placed), 3*len(p.spec.Generated), 3*p.spec.Atoms
	c.dnet = grow(c.dnet, n*np)
	c.dx = grow(c.dx, n*ng)
	c.grad = grow(c.grad, p.hi-p.lo)
	clear(c.grad)
	// x_H = x_parent + out: the offset's cotangent is that of x_H, and the
	// parent's coordinates get it too.
	// In a local frame, x_H = x_parent + sum_i out_i e_i: out_i gets
	// dx_H . e_i, and the frame's atoms get e_i's cotangent out_i dx_H.
	for r := 0; r < n; r++ {
		hv, dh := heavy[r*ng:(r+1)*ng], dheavy[r*ng:(r+1)*ng]
		for j, a := range p.spec.Placed {
			par := p.slot[j]
			dx := vec3{dout[r*N+3*a], dout[r*N+3*a+1], dout[r*N+3*a+2]}
			for k := 0; k < 3; k++ {
				dh[3*par+k] += dx[k]
			}
			if p.frame[j][0] < 0 {
				copy(c.dnet[r*np+3*j:r*np+3*j+3], dx[:])
				continue
			}
			e, f := localFrame(hv, par, p.frame[j][0], p.frame[j][1])
			off := c.out[r*np+3*j : r*np+3*j+3]
			var g [3]vec3
			for i := 0; i < 3; i++ {
				c.dnet[r*np+3*j+i] = dot3(dx, e[i])
				for k := 0; k < 3; k++ {
					g[i][k] = off[i] * dx[k]
				}
			}
			localFrameBackward(e, f, g, par, p.frame[j][0], p.frame[j][1], dh)
		}
	}
	if zh != nil {
		// v = v(q), q = mean + L zh, and the log-det holds log(r^2 sin
		// theta): q's cotangent is (dv/dq)^T dv plus the log-det's, and
		// the mean's is q's.
		c.gscale = grow(c.gscale, p.scale.param.Size)
		clear(c.gscale)
		for r := 0; r < n; r++ {
			for j := range p.spec.Placed {
				k := r*np + 3*j
				q := vec3(c.q[k : k+3])
				_, dirs := fromSpherical(q)
				dv := vec3(c.dnet[k : k+3])
				_, ldr, ldt := sphericalLogDet(q)
				c.dnet[k] = dot3(dirs[0], dv) + dld[r]*ldr
				c.dnet[k+1] = q[0]*dot3(dirs[1], dv) + dld[r]*ldt
				c.dnet[k+2] = q[0] * math.Sin(q[1]) * dot3(dirs[2], dv)
			}
			p.scale.backward(c.L, zh[r*np:(r+1)*np], c.dnet[r*np:(r+1)*np], dld[r], dzh[r*np:(r+1)*np], c.gscale)
		}
	}
	p.netBackward(params, n, heavy, dheavy, c, withParams)
	if !withParams {
		return nil
	}
	return c.grad
}

// netBackward backpropagates c.dnet, the cotangents of the network's
// outputs, into c.grad (withParams) and adds the inputs' into dheavy.
func (p *Placer) netBackward(params []float64, n int, heavy, dheavy []float64, c *placerCache, withParams bool) {
	np, ng := 3*len(p.spec.Placed), 3*len(p.spec.Generated)
	if p.net32 != nil {
		c.d32 = grow32(c.d32, n*np)
		c.dx32 = grow32(c.dx32, n*ng)
		var grad32 []float32
		if withParams {
			c.grad32 = grow32(c.grad32, p.hi-p.lo)
			clear(c.grad32)
			grad32 = c.grad32
		}
		convert(c.d32, c.dnet)
		p.net32.Backward((*p.p32)[p.lo:p.hi], grad32, n, c.in32, c.d32, c.dx32, &c.mlp32)
		convert(c.dx, c.dx32)
		if withParams {
			convert(c.grad, c.grad32)
		}
	} else {
		var grad []float64
		if withParams {
			grad = c.grad
		}
		p.net.Backward(params[p.lo:p.hi], grad, n, heavy[:n*ng], c.dnet, c.dx, &c.mlp)
	}
	for i, v := range c.dx {
		dheavy[i] += v
	}
}

// invert writes the latent numbers zh of the placed atoms of n
// configurations x given their generated atoms heavy: L^-1 times the
// spherical coordinates of each atom's offset from its parent in its frame
// less the network's means, with each group of interchangeable atoms in
// its likeliest order (least |z|^2), and subtracts log(r^2 |sin theta|)
// of each from ld. It keeps in c what invertBackward needs.
func (p *Placer) invert(params []float64, n int, heavy, x, zh, ld []float64, c *placerCache) {
	np, ng, N, npl := 3*len(p.spec.Placed), 3*len(p.spec.Generated), 3*p.spec.Atoms, len(p.spec.Placed)
	p.offsets(params, n, heavy, c)
	c.L = p.scale.matrices(params, c.L)
	c.rel = grow(c.rel, n*np)
	if cap(c.src) < n*npl {
		c.src = make([]int, n*npl)
	}
	c.src = c.src[:n*npl]
	if cap(c.local) < npl {
		c.local = make([]vec3, npl)
	}
	local := c.local[:npl]
	c.y, c.z = grow(c.y, np), grow(c.z, np)
	c.q = grow(c.q, n*np)
	// groupZ solves scale group g with the sources src.
	groupZ := func(g int, src []int, mean []float64) float64 {
		grp := p.scale.groups[g]
		y, z := c.y[:3*len(grp)], c.z[:3*len(grp)]
		for i, j := range grp {
			q := local[src[j]]
			y[3*i] = q[0] - mean[3*j]
			y[3*i+1] = q[1] - mean[3*j+1]
			y[3*i+2] = wrapAngle(q[2], mean[3*j+2]) - mean[3*j+2]
		}
		p.scale.solveGroup(g, c.L, y, z)
		var s float64
		for _, v := range z {
			s += v * v
		}
		return s
	}
	for r := 0; r < n; r++ {
		row, hv, src := x[r*N:(r+1)*N], heavy[r*ng:(r+1)*ng], c.src[r*npl:(r+1)*npl]
		mean := c.out[r*np : (r+1)*np]
		for j, a := range p.spec.Placed {
			par := p.spec.Parents[j]
			d := vec3{row[3*a] - row[3*par], row[3*a+1] - row[3*par+1], row[3*a+2] - row[3*par+2]}
			copy(c.rel[r*np+3*j:r*np+3*j+3], d[:])
			local[j] = d
			if p.frame[j][0] >= 0 {
				e, _ := localFrame(hv, p.slot[j], p.frame[j][0], p.frame[j][1])
				local[j] = vec3{dot3(d, e[0]), dot3(d, e[1]), dot3(d, e[2])}
			}
			local[j] = toSpherical(local[j])
			src[j] = j
		}
		for ig, grp := range p.spec.Interchangeable {
			best, bestCost := 0, math.Inf(1)
			for o, order := range p.orders[ig] {
				for i, j := range grp {
					src[j] = order[i]
				}
				if cost := groupZ(p.parentGroup[ig], src, mean); cost < bestCost {
					best, bestCost = o, cost
				}
			}
			for i, j := range grp {
				src[j] = p.orders[ig][best][i]
			}
		}
		for g, grp := range p.scale.groups {
			groupZ(g, src, mean)
			for i, j := range grp {
				copy(zh[r*np+3*j:r*np+3*j+3], c.z[3*i:3*i+3])
			}
		}
		for j := range p.spec.Placed {
			q := local[src[j]]
			q[2] = wrapAngle(q[2], mean[3*j+2])
			copy(c.q[r*np+3*j:r*np+3*j+3], q[:])
			l, _, _ := sphericalLogDet(q)
			ld[r] -= l
		}
	}
}

// permutations returns every order of the values in set.
func permutations(set []int) [][]int {
	if len(set) <= 1 {
		return [][]int{append([]int(nil), set...)}
	}
	var out [][]int
	for i, first := range set {
		rest := append(append([]int(nil), set[:i]...), set[i+1:]...)
		for _, tail := range permutations(rest) {
			out = append(out, append([]int{first}, tail...))
		}
	}
	return out
}

// invertBackward backpropagates the cotangents dzh of the latent numbers
// of the last invert's rows, and dld of their log-determinants (which
// hold -log |det L|): the generated atoms' cotangents are added into
// dheavy, the placed atoms' written into dplaced (3 per placed atom), the
// scale's gradient left in c.gscale, and the network's returned.
func (p *Placer) invertBackward(params []float64, n int, heavy, zh, dzh, dld, dheavy, dplaced []float64, c *placerCache) []float64 {
	np, ng, npl := 3*len(p.spec.Placed), 3*len(p.spec.Generated), len(p.spec.Placed)
	c.dnet = grow(c.dnet, n*np)
	c.dx = grow(c.dx, n*ng)
	c.grad = grow(c.grad, p.hi-p.lo)
	clear(c.grad)
	c.gscale = grow(c.gscale, p.scale.param.Size)
	clear(c.gscale)
	c.dy = grow(c.dy, np)
	for r := 0; r < n; r++ {
		hv, dh := heavy[r*ng:(r+1)*ng], dheavy[r*ng:(r+1)*ng]
		// z = L^-1 y, y_j = local_src(j) - mean_j, local_i = e_i . d with
		// d = x_H - x_P of the atom the row's place j took.
		p.scale.inverseBackward(c.L, zh[r*np:(r+1)*np], dzh[r*np:(r+1)*np], dld[r], c.dy, c.gscale)
		for j := range p.spec.Placed {
			par := p.slot[j]
			from := c.src[r*npl+j]
			// y = q(v) - mean, and the log-det holds -log(r^2 sin theta):
			// q's cotangent is dy less the log-det's, and v's is
			// (dv/dq)^-T times it.
			dq := vec3(c.dy[3*j : 3*j+3])
			for i := 0; i < 3; i++ {
				c.dnet[r*np+3*j+i] = -dq[i]
			}
			q := vec3(c.q[r*np+3*j : r*np+3*j+3])
			_, dirs := fromSpherical(q)
			_, ldr, ldt := sphericalLogDet(q)
			dq[0] -= dld[r] * ldr
			dq[1] -= dld[r] * ldt
			var a vec3
			for k := 0; k < 3; k++ {
				a[k] = dirs[0][k]*dq[0] + dirs[1][k]*dq[1]/q[0] + dirs[2][k]*dq[2]/(q[0]*math.Sin(q[1]))
			}
			dd := a
			if p.frame[j][0] >= 0 {
				e, f := localFrame(hv, par, p.frame[j][0], p.frame[j][1])
				d := vec3(c.rel[r*np+3*from : r*np+3*from+3])
				var g [3]vec3
				for i := 0; i < 3; i++ {
					for k := 0; k < 3; k++ {
						g[i][k] = a[i] * d[k]
					}
				}
				dd = vec3{}
				for i := 0; i < 3; i++ {
					for k := 0; k < 3; k++ {
						dd[k] += a[i] * e[i][k]
					}
				}
				localFrameBackward(e, f, g, par, p.frame[j][0], p.frame[j][1], dh)
			}
			copy(dplaced[r*np+3*from:r*np+3*from+3], dd[:])
			for k := 0; k < 3; k++ {
				dh[3*par+k] -= dd[k]
			}
		}
	}
	p.netBackward(params, n, heavy, dheavy, c, true)
	return c.grad
}
