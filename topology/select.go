package topology

import (
	"fmt"
	"strconv"
	"strings"
)

// SelectAtom finds one atom by a specification:
//
//	"CA"            an atom name, which must be unique in the PSF
//	"2:CA"          residue id and atom name
//	"PROA:2:CA"     segment, residue id and atom name
//	"7"             a 1-based atom number, as in the PSF
//
// Names are compared case-insensitively.
func (psf *PSF) SelectAtom(spec string) (int, error) {
	spec = strings.TrimSpace(spec)
	if n, err := strconv.Atoi(spec); err == nil {
		if n < 1 || n > len(psf.Atoms) {
			return -1, fmt.Errorf("atom number %d outside 1..%d", n, len(psf.Atoms))
		}
		return n - 1, nil
	}
	parts := strings.Split(spec, ":")
	if len(parts) > 3 || spec == "" {
		return -1, fmt.Errorf("atom selection %q: expected NAME, RESID:NAME, SEGID:RESID:NAME or an atom number", spec)
	}
	var found []int
	for i, a := range psf.Atoms {
		name := parts[len(parts)-1]
		if !strings.EqualFold(a.Name, name) {
			continue
		}
		if len(parts) >= 2 && !strings.EqualFold(a.ResID, parts[len(parts)-2]) {
			continue
		}
		if len(parts) == 3 && !strings.EqualFold(a.Segment, parts[0]) {
			continue
		}
		found = append(found, i)
	}
	switch len(found) {
	case 0:
		return -1, fmt.Errorf("atom selection %q matches no atom", spec)
	case 1:
		return found[0], nil
	}
	return -1, fmt.Errorf("atom selection %q matches %d atoms (first %s and %s): add the residue id or segment", spec, len(found), psf.AtomLabel(found[0]), psf.AtomLabel(found[1]))
}

// SelectDihedral finds a dihedral by a specification: four atom selections
// separated by '-' or white space ("C1-C2-C3-C4", "1:C 2:N 2:CA 2:C"), or a
// backbone dihedral by name ("phi", "psi", "omega"; with the residue when the
// molecule has several: "phi 2" or "phi ALA 2").
func (psf *PSF) SelectDihedral(g *Graph, spec string) (NamedDihedral, error) {
	fields := strings.Fields(strings.ReplaceAll(spec, "-", " "))
	if len(fields) == 0 {
		return NamedDihedral{}, fmt.Errorf("empty dihedral selection")
	}
	kind := strings.ToLower(fields[0])
	if kind == "phi" || kind == "psi" || kind == "omega" {
		var matches []NamedDihedral
		for _, d := range g.BackboneDihedrals(psf) {
			dfields := strings.Fields(d.Name)
			if dfields[0] != kind {
				continue
			}
			ok := true
			for _, want := range fields[1:] {
				if !strings.EqualFold(want, dfields[1]) && !strings.EqualFold(want, dfields[2]) {
					ok = false
				}
			}
			if ok {
				matches = append(matches, d)
			}
		}
		switch len(matches) {
		case 0:
			return NamedDihedral{}, fmt.Errorf("dihedral %q: no such backbone dihedral in the PSF", spec)
		case 1:
			return matches[0], nil
		}
		return NamedDihedral{}, fmt.Errorf("dihedral %q matches %d backbone dihedrals (%s, %s, ...): name the residue", spec, len(matches), matches[0].Name, matches[1].Name)
	}
	if len(fields) != 4 {
		return NamedDihedral{}, fmt.Errorf("dihedral %q: expected four atoms (such as C1-C2-C3-C4) or phi/psi/omega", spec)
	}
	var d NamedDihedral
	for i, f := range fields {
		idx, err := psf.SelectAtom(f)
		if err != nil {
			return NamedDihedral{}, fmt.Errorf("dihedral %q: %w", spec, err)
		}
		d.Atoms[i] = idx
	}
	d.Name = strings.Join(fields, "-")
	return d, nil
}
