package integrators

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"

	"github.com/flowmd/flowmd/forcefields"
)

// MinimizeOptions configure energy minimization.
type MinimizeOptions struct {
	// ForceTolerance stops the minimization when no force component
	// exceeds it (kcal/mol/A); 0 means 1.
	ForceTolerance float64
	// MaxIterations bounds the iterations of each method; 0 means 10,000.
	MaxIterations int
}

// MinimizeResult reports one walker's minimization.
type MinimizeResult struct {
	Energy      float64 // final energy
	MaxForce    float64 // largest force component at the end
	Evaluations int
	Method      string // the method that finished: "lbfgs" or "steepest_descent"
	Converged   bool   // MaxForce <= ForceTolerance
}

// Minimize lowers the energy of every walker with L-BFGS (gonum/optimize),
// falling back to steepest descent where L-BFGS stops before the force
// tolerance (a failed line search far from the minimum, as in a clash),
// then trying L-BFGS again from there. Velocities are untouched; energies
// and forces are re-evaluated at the end.
func Minimize(ctx context.Context, s *State, opts MinimizeOptions) ([]MinimizeResult, error) {
	tol := opts.ForceTolerance
	if tol == 0 {
		tol = 1
	}
	iters := opts.MaxIterations
	if iters == 0 {
		iters = 10000
	}
	if !(tol > 0) || iters < 0 {
		return nil, fmt.Errorf("minimize: force tolerance %v must be positive and iterations %d positive", tol, iters)
	}
	out := make([]MinimizeResult, s.Walkers)
	for w := 0; w < s.Walkers; w++ {
		res, err := minimizeOne(ctx, s.Model, s.Walker(w), tol, iters)
		if err != nil {
			return nil, fmt.Errorf("minimize walker %d: %w", w, err)
		}
		out[w] = res
	}
	return out, s.Evaluate(ctx)
}

func minimizeOne(ctx context.Context, m forcefields.Model, x []float64, tol float64, iters int) (MinimizeResult, error) {
	b := forcefields.NewBatch(m, 1, true, false)
	last := make([]float64, len(x))
	evals := 0
	var evalErr error
	eval := func(at []float64) {
		if evals > 0 && slices.Equal(at, last) {
			return
		}
		copy(last, at)
		copy(b.Coords, at)
		evals++
		if err := m.Evaluate(ctx, b); err != nil && evalErr == nil {
			evalErr = err
		}
		if math.IsNaN(b.Energy[0]) {
			b.Energy[0] = math.Inf(1) // lets the line search back off
		}
	}
	p := optimize.Problem{
		Func: func(at []float64) float64 { eval(at); return b.Energy[0] },
		Grad: func(g, at []float64) {
			eval(at)
			for i, f := range b.Forces {
				g[i] = -f
			}
		},
		Status: func() (optimize.Status, error) {
			if evalErr != nil {
				return optimize.Failure, evalErr
			}
			return optimize.NotTerminated, nil
		},
	}
	settings := &optimize.Settings{GradientThreshold: tol, MajorIterations: iters, Converger: optimize.NeverTerminate{}}
	method := "lbfgs"
	for _, m := range []struct {
		name   string
		method optimize.Method
	}{
		{"lbfgs", &optimize.LBFGS{}},
		{"steepest_descent", &optimize.GradientDescent{}},
		{"lbfgs", &optimize.LBFGS{}},
	} {
		method = m.name
		res, err := optimize.Minimize(p, x, settings, m.method)
		if evalErr != nil {
			return MinimizeResult{}, evalErr
		}
		if res != nil {
			copy(x, res.X)
		}
		if err == nil && res.Status == optimize.GradientThreshold {
			break
		}
		if err != nil && !isOptimizerStall(err) {
			return MinimizeResult{}, err
		}
	}
	eval(x)
	maxF := 0.0
	for _, f := range b.Forces {
		maxF = math.Max(maxF, math.Abs(f))
	}
	return MinimizeResult{Energy: b.Energy[0], MaxForce: maxF, Evaluations: evals, Method: method, Converged: maxF <= tol}, nil
}

// isOptimizerStall reports errors after which another method may still make
// progress: line-search failures.
func isOptimizerStall(err error) bool {
	return errors.Is(err, optimize.ErrLinesearcherFailure) || errors.Is(err, optimize.ErrNoProgress)
}
