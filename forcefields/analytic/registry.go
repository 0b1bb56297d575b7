package analytic

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/flowmd/flowmd/forcefields"
)

// Param describes one parameter of a registered model.
type Param struct {
	Name     string
	Default  float64 // used when the parameter is absent (unless Required)
	Integer  bool    // must be a whole number
	Required bool    // has no default
	Doc      string
}

type entry struct {
	doc    string
	params []Param
	build  func(p map[string]float64) (forcefields.Model, error)
}

func intParam(name string, def float64, doc string) Param {
	return Param{Name: name, Default: def, Integer: true, Doc: doc}
}

func param(name string, def float64, doc string) Param {
	return Param{Name: name, Default: def, Doc: doc}
}

var registry = map[string]entry{
	"harmonic": {
		doc: "½ k Σ_i (x_i − center)², isotropic",
		params: []Param{
			intParam("dim", 1, "dimension"),
			param("k", 1, "force constant"),
			param("center", 0, "centre, on every coordinate"),
		},
		build: func(p map[string]float64) (forcefields.Model, error) {
			return NewIsotropicHarmonic(int(p["dim"]), p["k"], p["center"])
		},
	},
	"quartic": {
		doc: "1D a x⁴ + b x² + c x (defaults: the double-well presets' x0)",
		params: []Param{
			param("a", DoubleWellA, "quartic coefficient, > 0"),
			param("b", DoubleWellB, "quadratic coefficient, < 0 for two wells"),
			param("c", DoubleWellC, "linear coefficient (tilt)"),
		},
		build: func(p map[string]float64) (forcefields.Model, error) {
			return NewQuarticDoubleWell(p["a"], p["b"], p["c"])
		},
	},
	"double_well": {
		doc: "a x0⁴ + b x0² + c x0 + Σ_{i≥1} x_i²/(2σ²) with free coefficients",
		params: []Param{
			intParam("dim", 12, "dimension"),
			param("a", DoubleWellA, "quartic coefficient, > 0"),
			param("b", DoubleWellB, "quadratic coefficient, < 0"),
			param("c", DoubleWellC, "linear coefficient (tilt)"),
			param("sigma", SigmaMedium, "standard deviation of x1..x_{D−1}"),
		},
		build: func(p map[string]float64) (forcefields.Model, error) {
			return NewDoubleWell(int(p["dim"]), p["a"], p["b"], p["c"], p["sigma"])
		},
	},
	"double_well_medium": doubleWellEntry("medium", SigmaMedium),
	"double_well_wide":   doubleWellEntry("wide", SigmaWide),
	"double_well_narrow": doubleWellEntry("narrow", SigmaNarrow),
	"dw4": {
		doc: "Köhler 2020 DW4: (1/τ) Σ_{i<j} a t + b t² + c t⁴, t = d_ij − d0",
		params: []Param{
			intParam("particles", 4, "number of particles"),
			intParam("space_dim", 2, "spatial dimension"),
			param("a", 0, "linear coefficient"),
			param("b", -4, "quadratic coefficient"),
			param("c", 0.9, "quartic coefficient"),
			param("d0", 4, "reference distance"),
			param("tau", 1, "temperature factor τ"),
		},
		build: func(p map[string]float64) (forcefields.Model, error) {
			return NewDW4(DW4Params{Particles: int(p["particles"]), SpaceDim: int(p["space_dim"]),
				A: p["a"], B: p["b"], C: p["c"], D0: p["d0"], Tau: p["tau"]})
		},
	},
	"lj13": {
		doc: "Köhler 2020 LJ13: (ε/τ) Σ_{i<j} (r_m/d)¹² − 2(r_m/d)⁶ + k Σ_i ‖x_i − x̄‖², 3D",
		params: []Param{
			intParam("particles", 13, "number of particles"),
			param("epsilon", 1, "well depth ε"),
			param("rm", 1, "minimum distance r_m"),
			param("tau", 1, "temperature factor τ"),
			param("restraint", 0.5, "centroid restraint coefficient k"),
		},
		build: func(p map[string]float64) (forcefields.Model, error) {
			return NewLJ13(LJ13Params{Particles: int(p["particles"]), Epsilon: p["epsilon"],
				Rm: p["rm"], Tau: p["tau"], Restraint: p["restraint"]})
		},
	},
	"gmm4": {
		doc: "Máté & Fleuret Eq. 2: ¼ N((±8, ±8), 1), 2D, normalised",
		build: func(map[string]float64) (forcefields.Model, error) {
			return GaussianMixturePreset("gmm4")
		},
	},
	"gmm2": {
		doc: "Máté & Fleuret Eq. 11: ⅓ N((4, 4), 1) + ⅔ N((−8, −8), 1), 2D, normalised",
		build: func(map[string]float64) (forcefields.Model, error) {
			return GaussianMixturePreset("gmm2")
		},
	},
	"phi4": {
		doc: "Máté & Fleuret Eq. 19: φ⁴ ring Σ (φ_i − φ_{i+1})² − mφ_i² + λ(φ_i − α)⁴",
		params: []Param{
			{Name: "m", Required: true, Doc: "mass parameter m (the paper: 0.25, 0.5, 0.75, 1)"},
			intParam("n", 16, "number of sites N"),
			param("lambda", 1.0/16, "quartic coupling λ"),
			param("alpha", 0.01, "symmetry-breaking shift α"),
		},
		build: func(p map[string]float64) (forcefields.Model, error) {
			return NewPhi4(Phi4Params{Sites: int(p["n"]), M: p["m"], Lambda: p["lambda"], Alpha: p["alpha"]})
		},
	},
}

func doubleWellEntry(preset string, sigma float64) entry {
	return entry{
		doc:    fmt.Sprintf("thesis double well %q: σ = %g, minor-mode fraction 0.22 at kT = 1", preset, sigma),
		params: []Param{intParam("dim", 12, "dimension (12 in the thesis, 2 for its figures)")},
		build: func(p map[string]float64) (forcefields.Model, error) {
			return DoubleWellPreset(preset, int(p["dim"]))
		},
	}
}

// Names returns the registered model names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Describe returns a one-line description of a registered model.
func Describe(name string) (string, error) {
	e, ok := registry[name]
	if !ok {
		return "", unknownName(name)
	}
	return e.doc, nil
}

// Parameters returns the parameters a registered model accepts.
func Parameters(name string) ([]Param, error) {
	e, ok := registry[name]
	if !ok {
		return nil, unknownName(name)
	}
	return slices.Clone(e.params), nil
}

func unknownName(name string) error {
	return fmt.Errorf("analytic model %q: unknown; valid names: %s", name, strings.Join(Names(), ", "))
}

// New creates a registered model by name. params may be nil; absent
// parameters take their defaults, unknown ones, missing required ones,
// non-finite values and fractional values of integer parameters are errors.
func New(name string, params map[string]float64) (forcefields.Model, error) {
	e, ok := registry[name]
	if !ok {
		return nil, unknownName(name)
	}
	valid := make([]string, len(e.params))
	for i, p := range e.params {
		valid[i] = p.Name
	}
	for k := range params {
		if !slices.Contains(valid, k) {
			list := "none"
			if len(valid) > 0 {
				list = strings.Join(valid, ", ")
			}
			return nil, fmt.Errorf("analytic model %q: unknown parameter %q; valid parameters: %s", name, k, list)
		}
	}
	full := make(map[string]float64, len(e.params))
	for _, p := range e.params {
		v, ok := params[p.Name]
		if !ok {
			if p.Required {
				return nil, fmt.Errorf("analytic model %q: parameter %q is required (%s)", name, p.Name, p.Doc)
			}
			v = p.Default
		}
		if !finite(v) {
			return nil, fmt.Errorf("analytic model %q: parameter %q = %v, want finite", name, p.Name, v)
		}
		if p.Integer && (v != math.Trunc(v) || math.Abs(v) > 1<<24) {
			return nil, fmt.Errorf("analytic model %q: parameter %q = %v, want a whole number", name, p.Name, v)
		}
		full[p.Name] = v
	}
	m, err := e.build(full)
	if err != nil {
		return nil, fmt.Errorf("analytic model %q: %w", name, err)
	}
	return m, nil
}
