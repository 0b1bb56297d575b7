package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/topology"
)

const dataDir = "../data"

// openmmPython returns a Python interpreter that can import OpenMM and
// NumPy. Without one the test is skipped, except in CI, where
// scripts/test.sh installs them (Debian's python3-simtk and python3-numpy)
// and their absence is a failure.
func openmmPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import numpy\ntry:\n import openmm\nexcept ImportError:\n from simtk import openmm").Run() == nil {
			return py
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("OpenMM is not importable in CI: scripts/test.sh should have installed python3-simtk")
	}
	t.Skip("OpenMM (Debian python3-simtk) and NumPy not available")
	return ""
}

type openmmResult struct {
	EnergyTerms map[string]float64 `json:"energy_terms"`
	TotalEnergy float64            `json:"total_energy"`
	Forces      [][3]float64       `json:"forces"`
}

// runOpenMM evaluates configurations x of a system with OpenMM.
func runOpenMM(t *testing.T, py, psf string, params []string, x []float64, natoms int) []openmmResult {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.npy")
	var buf bytes.Buffer
	if err := WriteNPY(&buf, []int{len(x) / (3 * natoms), natoms, 3}, x); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"../scripts/openmm_energies.py", psf, path}, params...)
	cmd := exec.Command(py, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("OpenMM: %v\n%s", err, stderr.String())
	}
	var res []openmmResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// compareWithOpenMM evaluates x with flowmd and OpenMM and holds every term
// to 1e-4 kcal/mol + 1e-6 |term| and every force component to
// 1e-3 kcal/mol/A + 1e-5 |force|, the accuracy the engine promises. It
// returns the largest term and force differences.
func compareWithOpenMM(t *testing.T, py string, files SystemFiles, x []float64) (worstTerm, worstForce float64) {
	t.Helper()
	sys, err := LoadSystem(files)
	if err != nil {
		t.Fatal(err)
	}
	m, err := charmm.New(sys, charmm.Options{}, "")
	if err != nil {
		t.Fatal(err)
	}
	b := forcefields.NewBatch(m, len(x)/m.Dim(), true, true)
	copy(b.Coords, x)
	if err := m.Evaluate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	ref := runOpenMM(t, py, files.PSF, files.Params, x, sys.NumAtoms())
	nt := len(m.Terms())
	for c, r := range ref {
		for k, name := range m.Terms() {
			want := r.EnergyTerms[name]
			d := math.Abs(b.Terms[c*nt+k] - want)
			worstTerm = math.Max(worstTerm, d)
			if d > 1e-4+1e-6*math.Abs(want) {
				t.Errorf("configuration %d %s: %.10g, OpenMM %.10g", c, name, b.Terms[c*nt+k], want)
			}
		}
		for i, f := range r.Forces {
			for k := 0; k < 3; k++ {
				got := b.Forces[c*m.Dim()+3*i+k]
				d := math.Abs(got - f[k])
				worstForce = math.Max(worstForce, d)
				if d > 1e-3+1e-5*math.Abs(f[k]) {
					t.Errorf("configuration %d atom %d force %c: %.8g, OpenMM %.8g", c, i+1, "xyz"[k], got, f[k])
				}
			}
		}
	}
	return worstTerm, worstForce
}

// TestAgainstLiveOpenMM evaluates the reference systems' configurations,
// at the positions the reference files hold, and new strained ones at full
// precision, with OpenMM itself: the tolerances must hold with no
// allowance for rounding.
func TestAgainstLiveOpenMM(t *testing.T) {
	py := openmmPython(t)
	systems := []struct {
		name   string
		params []string
	}{
		{"dialanine", []string{"par_all36m_prot.prm"}},
		{"butane", []string{"par_all36_cgenff.prm", "top_all36_cgenff.rtf"}},
		{"ala2", []string{"par_all36m_prot.prm"}},
	}
	for _, s := range systems {
		t.Run(s.name, func(t *testing.T) {
			dir := filepath.Join(dataDir, "systems", s.name)
			files := SystemFiles{PSF: filepath.Join(dir, s.name+".psf")}
			for _, p := range s.params {
				files.Params = append(files.Params, filepath.Join(dataDir, "toppar", p))
			}
			raw, err := os.ReadFile(filepath.Join(dir, "reference_openmm.json"))
			if err != nil {
				t.Fatal(err)
			}
			var ref struct {
				Configurations []struct {
					Positions [][3]float64 `json:"positions"`
				} `json:"configurations"`
			}
			if err := json.Unmarshal(raw, &ref); err != nil {
				t.Fatal(err)
			}
			var x []float64
			for _, c := range ref.Configurations {
				for _, p := range c.Positions {
					x = append(x, p[:]...)
				}
			}
			n := len(ref.Configurations[0].Positions)
			rng := rand.New(rand.NewPCG(5, 6))
			for c := 0; c < 8; c++ {
				for i := 0; i < 3*n; i++ {
					x = append(x, x[i]+0.1*rng.NormFloat64())
				}
			}
			dt, df := compareWithOpenMM(t, py, files, x)
			t.Logf("%d configurations: largest term difference %.2e kcal/mol, largest force difference %.2e kcal/mol/A", len(x)/(3*n), dt, df)
		})
	}
}

// TestPeptideAgainstLiveOpenMM compares a 403-atom peptide with all twenty
// amino acids, built from the CHARMM36 topology by topology/build, with
// OpenMM: every residue type's parameters, impropers and 23 CMAP terms, far
// from the three small systems the readers were written against.
func TestPeptideAgainstLiveOpenMM(t *testing.T) {
	py := openmmPython(t)
	files := SystemFiles{PSF: "../topology/build/testdata/peptide20.psf", Params: []string{filepath.Join(dataDir, "toppar", "par_all36m_prot.prm")}}
	s, err := topology.ReadCoordinates("../topology/build/testdata/peptide20.pdb")
	if err != nil {
		t.Fatal(err)
	}
	x := append([]float64(nil), s.Models[0]...)
	rng := rand.New(rand.NewPCG(8, 9))
	n := len(x)
	for c := 0; c < 3; c++ {
		for i := 0; i < n; i++ {
			x = append(x, x[i]+0.05*rng.NormFloat64())
		}
	}
	dt, df := compareWithOpenMM(t, py, files, x)
	t.Logf("peptide, 4 configurations: largest term difference %.2e kcal/mol, largest force difference %.2e kcal/mol/A", dt, df)
}
