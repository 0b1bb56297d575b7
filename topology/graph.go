package topology

import (
	"fmt"
	"strings"
)

// Graph is the bond graph of a molecule.
type Graph struct {
	// Neighbors of each atom, in increasing order.
	Neighbors [][]int
	// IsHydrogen marks hydrogen atoms (H and its isotopes, by mass).
	IsHydrogen []bool
	// Heavy lists the non-hydrogen atoms in increasing order.
	Heavy []int
	// Hydrogens lists, for each atom, the hydrogens bonded to it.
	Hydrogens [][]int
}

// NewGraph builds the bond graph of psf. Hydrogens are told by their mass
// (0.5 to 3.5 amu, which includes deuterium and tritium): the type names of
// CHARMM force fields do not follow one rule, and a PSF always has masses.
func NewGraph(psf *PSF) *Graph {
	n := len(psf.Atoms)
	g := &Graph{
		Neighbors:  make([][]int, n),
		IsHydrogen: make([]bool, n),
		Hydrogens:  make([][]int, n),
	}
	for _, b := range psf.Bonds {
		i, j := b[0], b[1]
		if i == j || contains(g.Neighbors[i], j) {
			continue
		}
		g.Neighbors[i] = insertSorted(g.Neighbors[i], j)
		g.Neighbors[j] = insertSorted(g.Neighbors[j], i)
	}
	for i, at := range psf.Atoms {
		g.IsHydrogen[i] = IsHydrogenMass(at.Mass)
		if !g.IsHydrogen[i] {
			g.Heavy = append(g.Heavy, i)
		}
	}
	for i := range psf.Atoms {
		if !g.IsHydrogen[i] {
			continue
		}
		for _, j := range g.Neighbors[i] {
			g.Hydrogens[j] = append(g.Hydrogens[j], i)
		}
	}
	return g
}

// IsHydrogenMass reports whether a mass in amu is that of a hydrogen isotope.
func IsHydrogenMass(m float64) bool { return m > 0.5 && m < 3.5 }

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func insertSorted(s []int, x int) []int {
	i := len(s)
	for i > 0 && s[i-1] > x {
		i--
	}
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = x
	return s
}

// Distances returns the bond-path distance from atom i to every atom within
// maxDepth bonds; atoms further away are absent.
func (g *Graph) Distances(i, maxDepth int) map[int]int {
	dist := map[int]int{i: 0}
	frontier := []int{i}
	for d := 1; d <= maxDepth && len(frontier) > 0; d++ {
		var next []int
		for _, a := range frontier {
			for _, b := range g.Neighbors[a] {
				if _, seen := dist[b]; !seen {
					dist[b] = d
					next = append(next, b)
				}
			}
		}
		frontier = next
	}
	return dist
}

// ExclusionsNBXMod5 returns CHARMM's nbxmod 5 lists: the excluded pairs
// (1-2 and 1-3, by the shortest bond path) and the 1-4 pairs (shortest path
// of exactly three bonds), each with i < j and sorted. A pair that is both
// 1-3 and 1-4 through different paths, as in small rings, is excluded.
func (g *Graph) ExclusionsNBXMod5() (excluded, pairs14 [][2]int) {
	for i := range g.Neighbors {
		for j, d := range g.Distances(i, 3) {
			if j <= i {
				continue
			}
			switch d {
			case 1, 2:
				excluded = append(excluded, [2]int{i, j})
			case 3:
				pairs14 = append(pairs14, [2]int{i, j})
			}
		}
	}
	sortPairs(excluded)
	sortPairs(pairs14)
	return excluded, pairs14
}

// NamedDihedral is a dihedral a user refers to by name, such as the
// backbone phi and psi of a residue.
type NamedDihedral struct {
	Name  string // "phi", "psi" or "omega", with the residue: "phi ALA 2"
	Atoms [4]int
}

// BackboneDihedrals returns the backbone phi, psi and omega dihedrals of every
// residue, found through the bond graph rather than by residue numbers, so
// that capped peptides such as CHARMM's alanine dipeptide (ALAD, whose
// backbone atoms are named CLP, NL, CA, CRP, NR) are covered too:
//
//	phi   = C'(prev) - N - CA - C
//	psi   = N - CA - C - N'(next)
//	omega = CA - C - N'(next) - CA'(next) (or the next residue's first carbon)
//
// where CA is an atom named CA, N a nitrogen bonded to it, C a carbonyl
// carbon bonded to it (a carbon with three bonds, one to an oxygen), C' the
// carbonyl carbon bonded to N, and N' the nitrogen bonded to C.
func (g *Graph) BackboneDihedrals(psf *PSF) []NamedDihedral {
	elem := func(i int) string { return elementFromMass(psf.Atoms[i].Mass) }
	// A carbonyl carbon is sp2: three bonds, one of them to an oxygen.
	// Counting the bonds keeps serine's and threonine's CB (four bonds,
	// one to OG) from passing for the backbone carbonyl.
	carbonyl := func(c int) bool {
		if elem(c) != "C" || len(g.Neighbors[c]) != 3 {
			return false
		}
		for _, o := range g.Neighbors[c] {
			if elem(o) == "O" {
				return true
			}
		}
		return false
	}
	var out []NamedDihedral
	for ca, at := range psf.Atoms {
		if strings.ToUpper(at.Name) != "CA" || elem(ca) != "C" {
			continue
		}
		n, c := -1, -1
		for _, x := range g.Neighbors[ca] {
			switch {
			case elem(x) == "N" && n < 0:
				n = x
			case carbonyl(x) && c < 0:
				c = x
			}
		}
		if n < 0 || c < 0 {
			continue
		}
		label := fmt.Sprintf("%s %s", at.ResName, at.ResID)
		for _, cp := range g.Neighbors[n] {
			if cp != ca && carbonyl(cp) {
				out = append(out, NamedDihedral{Name: "phi " + label, Atoms: [4]int{cp, n, ca, c}})
				break
			}
		}
		for _, nn := range g.Neighbors[c] {
			if elem(nn) != "N" {
				continue
			}
			out = append(out, NamedDihedral{Name: "psi " + label, Atoms: [4]int{n, ca, c, nn}})
			// The next residue's alpha carbon: the one named CA (proline's N
			// is also bonded to CD), else the first carbon (ALAD's CR).
			next := -1
			for _, cn := range g.Neighbors[nn] {
				if cn == c || elem(cn) != "C" {
					continue
				}
				if strings.EqualFold(psf.Atoms[cn].Name, "CA") || next < 0 {
					next = cn
				}
			}
			if next >= 0 {
				out = append(out, NamedDihedral{Name: "omega " + label, Atoms: [4]int{ca, c, nn, next}})
			}
			break
		}
	}
	return out
}
