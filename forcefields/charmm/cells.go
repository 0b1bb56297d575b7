package charmm

import "math"

// cellList bins atoms into cubic cells at least as wide as the cut-off, so
// that the pairs within the cut-off are found among neighbouring cells in time
// linear in the number of atoms. Its memory is reused from call to call.
type cellList struct {
	head       []int32 // first atom of each cell, -1 when empty
	next       []int32 // next atom in the same cell, -1 at the end
	nx, ny, nz int
}

// maxCellsPerAtom bounds the grid for configurations spread far apart (an
// exploded structure): the cells then grow wider than the cut-off, which
// stays correct and keeps memory linear.
const maxCellsPerAtom = 8

func (c *cellList) build(x []float64, size float64) {
	n := len(x) / 3
	lo := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi := [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for i := 0; i < n; i++ {
		for k := 0; k < 3; k++ {
			lo[k] = math.Min(lo[k], x[3*i+k])
			hi[k] = math.Max(hi[k], x[3*i+k])
		}
	}
	var dims [3]int
	for {
		total := 1
		for k := 0; k < 3; k++ {
			dims[k] = max(1, int(math.Min((hi[k]-lo[k])/size, 1<<20)))
			total *= dims[k]
		}
		if total <= maxCellsPerAtom*n+27 {
			break
		}
		size *= 2
	}
	c.nx, c.ny, c.nz = dims[0], dims[1], dims[2]
	ncell := c.nx * c.ny * c.nz
	c.head = grow(c.head, ncell)
	c.next = grow(c.next, n)
	for i := range c.head {
		c.head[i] = -1
	}
	for i := n - 1; i >= 0; i-- {
		var idx [3]int
		for k := 0; k < 3; k++ {
			idx[k] = min(dims[k]-1, int((x[3*i+k]-lo[k])/(hi[k]-lo[k]+1e-300)*float64(dims[k])))
		}
		cl := int32((idx[0]*c.ny+idx[1])*c.nz + idx[2])
		c.next[i] = c.head[cl]
		c.head[cl] = int32(i)
	}
}

// grow returns s resized to n, reallocated only when too small (its
// contents are then not kept).
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// halfShell are the 13 neighbouring cell offsets that, with the cell itself,
// visit every pair of neighbouring cells once.
var halfShell = [13][3]int{
	{1, 0, 0}, {-1, 1, 0}, {0, 1, 0}, {1, 1, 0},
	{-1, -1, 1}, {0, -1, 1}, {1, -1, 1},
	{-1, 0, 1}, {0, 0, 1}, {1, 0, 1},
	{-1, 1, 1}, {0, 1, 1}, {1, 1, 1},
}

func (c *cellList) numCells() int { return c.nx * c.ny * c.nz }

// pairs calls near for every pair of atoms in neighbouring cells whose
// first atom lies in one of the home cells lo..hi-1 (all cells: 0,
// numCells()); near decides what to do with it.
func (c *cellList) pairs(lo, hi int, near func(i, j int32)) {
	for cell := lo; cell < hi; cell++ {
		ix, iy, iz := cell/(c.ny*c.nz), cell/c.nz%c.ny, cell%c.nz
		home := c.head[cell]
		for i := home; i >= 0; i = c.next[i] {
			for j := c.next[i]; j >= 0; j = c.next[j] {
				near(i, j)
			}
		}
		for _, o := range halfShell {
			jx, jy, jz := ix+o[0], iy+o[1], iz+o[2]
			if jx < 0 || jy < 0 || jz < 0 || jx >= c.nx || jy >= c.ny || jz >= c.nz {
				continue
			}
			other := c.head[(jx*c.ny+jy)*c.nz+jz]
			for i := home; i >= 0; i = c.next[i] {
				for j := other; j >= 0; j = c.next[j] {
					near(i, j)
				}
			}
		}
	}
}

// appendPairs appends to buf every pair (i, j), i < j, of atoms closer than
// sqrt(cut2) whose home cell is in lo..hi-1 and that are not special
// partners (special[start[i]:start[i+1]] lists the partners j > i of i),
// i and j interleaved.
func (c *cellList) appendPairs(x []float64, cut2 float64, lo, hi int, special, start []int32, buf []int32) []int32 {
	add := func(i, j int32) {
		i3, j3 := 3*int(i), 3*int(j)
		dx, dy, dz := x[i3]-x[j3], x[i3+1]-x[j3+1], x[i3+2]-x[j3+2]
		if dx*dx+dy*dy+dz*dz > cut2 {
			return
		}
		if i > j {
			i, j = j, i
		}
		for _, sp := range special[start[i]:start[i+1]] {
			if sp == j {
				return
			}
		}
		buf = append(buf, i, j)
	}
	c.pairs(lo, hi, add)
	return buf
}
