package charmm

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/topology"
)

const dataDir = "../../data"

// openmmReference is the content of data/systems/*/reference_openmm.json.
type openmmReference struct {
	PSF            string   `json:"psf"`
	ParameterFiles []string `json:"parameter_files"`
	NAtoms         int      `json:"n_atoms"`
	Configurations []struct {
		Name        string             `json:"name"`
		Positions   [][3]float64       `json:"positions"`
		EnergyTerms map[string]float64 `json:"energy_terms"`
		TotalEnergy float64            `json:"total_energy"`
		Forces      [][3]float64       `json:"forces"`
	} `json:"configurations"`
}

var testSystems = []string{"dialanine", "butane", "ala2"}

func loadReference(t testing.TB, system string) (*topology.System, *openmmReference) {
	t.Helper()
	dir := filepath.Join(dataDir, "systems", system)
	raw, err := os.ReadFile(filepath.Join(dir, "reference_openmm.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref openmmReference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	psf, err := topology.ReadPSFFile(filepath.Join(dir, ref.PSF))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range ref.ParameterFiles {
		files = append(files, filepath.Join(dataDir, "toppar", f))
	}
	params, err := topology.ReadParameterFiles(files...)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := topology.Assign(psf, params)
	if err != nil {
		t.Fatal(err)
	}
	return sys, &ref
}

func flatten(p [][3]float64) []float64 {
	out := make([]float64, 0, 3*len(p))
	for _, v := range p {
		out = append(out, v[:]...)
	}
	return out
}

// positionRounding is half the last digit of the reference positions: the
// JSON files store them to 1e-6 A, while OpenMM evaluated the unrounded ones.
const positionRounding = 5e-7

// roundingBounds returns, for configuration x, how much the per-term
// energies and the forces can change when every coordinate moves by up to
// positionRounding: to first order, sum_j |dE/dx_j| and sum_j |dF_i/dx_j|
// times positionRounding, with the derivatives by central differences.
func roundingBounds(t *testing.T, m *Model, x []float64) (terms, forces []float64) {
	t.Helper()
	dim, nt := m.Dim(), len(m.Terms())
	const h = 1e-5
	b := forcefields.NewBatch(m, 2*dim, true, true)
	for j := 0; j < dim; j++ {
		for s, sign := range []float64{1, -1} {
			c := 2*j + s
			copy(b.Coords[c*dim:(c+1)*dim], x)
			b.Coords[c*dim+j] += sign * h
		}
	}
	if err := m.Evaluate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	terms = make([]float64, nt)
	forces = make([]float64, dim)
	for j := 0; j < dim; j++ {
		p, q := 2*j, 2*j+1
		for k := 0; k < nt; k++ {
			terms[k] += math.Abs(b.Terms[p*nt+k]-b.Terms[q*nt+k]) / (2 * h) * positionRounding
		}
		for i := 0; i < dim; i++ {
			forces[i] += math.Abs(b.Forces[p*dim+i]-b.Forces[q*dim+i]) / (2 * h) * positionRounding
		}
	}
	return terms, forces
}

// TestMatchesOpenMM is the acceptance test of the energy: every term within
// 1e-4 kcal/mol + 1e-6 |term| of OpenMM's, every force component within
// 1e-3 kcal/mol/A + 1e-5 |force|, for every configuration of every
// reference system, with every kernel. The structures read from the PDB
// files have positions with three decimals, exact in the JSON, and must meet
// these tolerances as they stand. The other configurations' positions were
// rounded to 1e-6 A when the references were written; their tolerance adds
// the first-order effect of that rounding (roundingBounds), which for the
// strained configurations exceeds the tolerances above.
func TestMatchesOpenMM(t *testing.T) {
	for _, kernel := range Kernels() {
		for _, system := range testSystems {
			t.Run(kernel+"/"+system, func(t *testing.T) {
				sys, ref := loadReference(t, system)
				m, err := New(sys, Options{}, kernel)
				if err != nil {
					t.Fatal(err)
				}
				b := forcefields.NewBatch(m, len(ref.Configurations), true, true)
				for c, conf := range ref.Configurations {
					copy(b.Coords[c*m.Dim():], flatten(conf.Positions))
				}
				if err := m.Evaluate(context.Background(), b); err != nil {
					t.Fatal(err)
				}
				nt := len(m.Terms())
				for c, conf := range ref.Configurations {
					termSlack, forceSlack := make([]float64, nt), make([]float64, m.Dim())
					if conf.Name != "pdb" {
						termSlack, forceSlack = roundingBounds(t, m, b.Coords[c*m.Dim():(c+1)*m.Dim()])
					}
					terms := b.Terms[c*nt : (c+1)*nt]
					totalSlack := 0.0
					for k, name := range m.Terms() {
						want, ok := conf.EnergyTerms[name]
						if !ok {
							t.Fatalf("reference has no term %q", name)
						}
						totalSlack += termSlack[k]
						if d := math.Abs(terms[k] - want); d > 1e-4+1e-6*math.Abs(want)+termSlack[k] {
							t.Errorf("%s %s: %.8f, OpenMM %.8f (diff %.2e, rounding allowance %.2e)", conf.Name, name, terms[k], want, d, termSlack[k])
						}
					}
					if d := math.Abs(b.Energy[c] - conf.TotalEnergy); d > 1e-4+1e-6*math.Abs(conf.TotalEnergy)+totalSlack {
						t.Errorf("%s total: %.8f, OpenMM %.8f", conf.Name, b.Energy[c], conf.TotalEnergy)
					}
					worst := 0.0 // largest difference relative to its tolerance
					for i, fw := range flatten(conf.Forces) {
						got := b.Forces[c*m.Dim()+i]
						d := math.Abs(got - fw)
						tol := 1e-3 + 1e-5*math.Abs(fw) + forceSlack[i]
						if d > tol {
							t.Errorf("%s force atom %d %c: %.6f, OpenMM %.6f (diff %.2e, rounding allowance %.2e)", conf.Name, i/3+1, "xyz"[i%3], got, fw, d, forceSlack[i])
						}
						worst = math.Max(worst, d/tol)
					}
					t.Logf("%-9s total %.6f, OpenMM %.6f; largest force difference %.2f of its tolerance", conf.Name, b.Energy[c], conf.TotalEnergy, worst)
				}
			})
		}
	}
}
