package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const dataDir = "../../data"

// mdrun runs the command in-process and returns its exit code and output.
func mdrun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTopologyDefault(t *testing.T) {
	code, out, errs := mdrun(t, "topology")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"atoms           22  (10 heavy, 12 hydrogens)", "bonds           21", "angles          36",
		"dihedrals       41", "impropers       4", "cmap            1", "phi ALAD 1      CLP-NL-CA-CRP"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestTopologyJSON(t *testing.T) {
	code, out, errs := mdrun(t, "topology", "--json",
		"--psf", filepath.Join(dataDir, "systems/butane/butane.psf"),
		"--params", filepath.Join(dataDir, "toppar/par_all36_cgenff.prm"),
		"--params", filepath.Join(dataDir, "toppar/top_all36_cgenff.rtf"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		Counts map[string]float64 `json:"counts"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Counts["atoms"] != 14 || rep.Counts["heavy_atoms"] != 4 || rep.Counts["dihedrals"] != 27 {
		t.Errorf("counts %v", rep.Counts)
	}
}

// TestTopologyMissingParameters reads butane (CGenFF types) with the protein
// parameters: every missing term is listed, and the exit status is 1.
func TestTopologyMissingParameters(t *testing.T) {
	code, out, errs := mdrun(t, "topology",
		"--psf", filepath.Join(dataDir, "systems/butane/butane.psf"),
		"--params", filepath.Join(dataDir, "toppar/par_all36m_prot.prm"))
	if code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	// 13 bonds, 24 angles, 27 dihedrals and 4 LJ types of butane.
	if !strings.Contains(out, "missing parameters (68 terms") || !strings.Contains(out, "HGA3-CG331") {
		t.Errorf("missing list:\n%s", out)
	}
	if !strings.Contains(errs, "68 terms have no parameters") {
		t.Errorf("stderr: %s", errs)
	}
}

func TestEnergyDefault(t *testing.T) {
	code, out, errs := mdrun(t, "energy", "--json", "--forces")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var confs []struct {
		EnergyTerms map[string]float64 `json:"energy_terms"`
		TotalEnergy float64            `json:"total_energy"`
		Forces      [][3]float64       `json:"forces"`
	}
	if err := json.Unmarshal([]byte(out), &confs); err != nil {
		t.Fatal(err)
	}
	// OpenMM's energy of the minimized dialanine (reference_openmm.json).
	if len(confs) != 1 || math.Abs(confs[0].TotalEnergy-(-15.663077127397994)) > 1e-5 || len(confs[0].Forces) != 22 {
		t.Errorf("got %+v", confs)
	}
	for _, k := range []string{"bond", "angle", "urey_bradley", "dihedral", "improper", "cmap", "lennard_jones", "coulomb"} {
		if _, ok := confs[0].EnergyTerms[k]; !ok {
			t.Errorf("no term %q", k)
		}
	}
}

func TestEnergyNPY(t *testing.T) {
	// A [2, 22, 3] float64 array written by hand: the header NumPy writes.
	x := readPDBCoords(t)
	path := filepath.Join(t.TempDir(), "x.npy")
	writeNPY(t, path, []int{2, 22, 3}, append(append([]float64(nil), x...), x...))
	code, out, errs := mdrun(t, "energy", "--coords", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Count(out, "-15.663076") != 2 {
		t.Errorf("expected two configurations of energy -15.663076:\n%s", out)
	}
}

func TestEnergyClipAndAlign(t *testing.T) {
	code, out, errs := mdrun(t, "energy", "--clip", "all=100", "--align", filepath.Join(dataDir, "systems/dialanine/dialanine.pdb"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "clipping") || !strings.Contains(out, "alignment") {
		t.Errorf("terms missing:\n%s", out)
	}
}

func TestErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.psf")
	if err := os.WriteFile(bad, []byte("PSF\n\n 1 !NTITLE\n* x\n\n 1 !NATOM\n 1 A 1 ALA CA CT1 0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"energy", "--cutof", "5"}, exitUsage, "unknown flag: --cutof"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{"energy", "extra"}, exitUsage, "takes no arguments"},
		{[]string{"energy", "--clip", "bond=-1"}, exitUsage, "positive number"},
		{[]string{"energy", "--clip", "torsion=5"}, exitUsage, "unknown term"},
		{[]string{"energy", "--align", filepath.Join(dataDir, "systems/dialanine/dialanine.pdb"), "--align-atoms", "backbone"}, exitError, `align atoms "backbone": expected all or heavy`},
		{[]string{"energy", "--coords", "/nonexistent.pdb"}, exitError, "/nonexistent.pdb"},
		{[]string{"energy", "--coords", filepath.Join(dataDir, "systems/butane/butane.pdb")}, exitError, "14 atoms"},
		{[]string{"topology", "--psf", bad, "--params", filepath.Join(dataDir, "toppar/par_all36m_prot.prm")}, exitError, `bad.psf:7: atom line: expected "id segid resid resname name type charge mass imove", got 7 fields`},
		{[]string{"energy", "--cutoff", "8", "--switch", "9"}, exitError, "switch distance"},
		{[]string{"bench", "energy", "--batch", "0"}, exitError, "batch 0"},
	}
	for _, c := range cases {
		code, _, errs := mdrun(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("mdrun %v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, errs, c.code, c.want)
		}
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	t.Setenv("MDRUN_CUTOFF", "-3")
	code, _, errs := mdrun(t, "energy")
	if code != exitError || !strings.Contains(errs, "cut-off -3") {
		t.Errorf("MDRUN_CUTOFF not applied: exit %d, %s", code, errs)
	}
}

func TestBenchMD(t *testing.T) {
	code, out, errs := mdrun(t, "bench", "md", "--walkers", "2", "--steps", "100", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Walkers        int     `json:"walkers"`
		StepsPerSecond float64 `json:"steps_per_second"`
		Temperature    float64 `json:"mean_kinetic_temperature_k"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Walkers != 2 || !(res.StepsPerSecond > 0) || !(res.Temperature > 100 && res.Temperature < 500) {
		t.Errorf("%+v", res)
	}
}

func TestBenchEnergy(t *testing.T) {
	code, out, errs := mdrun(t, "bench", "energy", "--batch", "8", "--duration", "50ms")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "batch of 8") || !strings.Contains(out, "one configuration") {
		t.Errorf("output:\n%s", out)
	}
}

func TestBenchFlow(t *testing.T) {
	code, out, errs := mdrun(t, "bench", "flow", "--dim", "6", "--blocks", "1", "--hidden", "8", "--batch", "16", "--sample-batch", "64", "--duration", "50ms", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Dim                int     `json:"dim"`
		Parameters         int     `json:"parameters"`
		TrainingStepsPerS  float64 `json:"training_steps_per_second"`
		SamplesPerSecond   float64 `json:"samples_per_second"`
		DensitiesPerSecond float64 `json:"densities_per_second"`
		BLAS               string  `json:"blas"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Dim != 6 || res.Parameters == 0 || !(res.TrainingStepsPerS > 0) || !(res.SamplesPerSecond > 0) || !(res.DensitiesPerSecond > 0) || res.BLAS == "" {
		t.Errorf("%+v", res)
	}
	if code, _, errs := mdrun(t, "bench", "flow", "--precision", "float16"); code != exitUsage || !strings.Contains(errs, "float16") {
		t.Errorf("precision float16: exit %d: %s", code, errs)
	}
}

// TestRunRefusesBadConfigBeforeWriting: a missing input file, an unknown
// key or a value out of range stops mdrun run before any output exists.
func TestRunRefusesBadConfigBeforeWriting(t *testing.T) {
	data, err := filepath.Abs(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"missing psf":   "steps: 10\nsystem: {psf: nowhere.psf, params: [x.prm], coords: y.pdb}\noutput: {dataset: 1, log: 1}\n",
		"unknown key":   "steps: 10\nmovez: []\noutput: {dataset: 1}\n",
		"out of range":  "steps: 10\ntemperature: 0\noutput: {dataset: 1}\nmoves: [{type: langevin, friction: -1}]\n",
		"broken psf":    "steps: 10\nsystem: {psf: bad.psf, params: [" + filepath.Join(data, "toppar/par_all36m_prot.prm") + "], coords: " + filepath.Join(data, "systems/dialanine/dialanine.pdb") + "}\noutput: {dataset: 1}\n",
		"unknown model": "steps: 10\nsystem: {analytic: double_wel}\noutput: {dataset: 1}\n",
	}
	for name, text := range cases {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "bad.psf"), []byte("PSF\n\n 1 !NTITLE\n*\n\n 22 !NATOM\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "run.yaml")
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errs := mdrun(t, "run", "-c", cfg, "--quiet")
		if name == "broken psf" && !strings.Contains(errs, "bad.psf:6: file ends inside section !NATOM") {
			t.Errorf("broken psf: %s", errs)
		}
		if code != exitError || errs == "" {
			t.Errorf("%s: exit %d, stderr %q", name, code, errs)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 2 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("%s: files written before the error: %v", name, names)
		}
		t.Logf("%s: %s", name, strings.TrimSpace(errs))
	}
}
