package losses

import (
	"fmt"
	"math"
)

// Inputs of the reference batch of the optimal-transport losses.
const (
	RefCoords = "ref_coords"  // m x dim: data, or detached model samples
	RefBetaU  = "ref_beta_u"  // beta U_B of detached model samples (data-free)
	RefLogPG  = "ref_log_p_g" // their log p_G (data-free)
)

// Sinkhorn is the debiased Sinkhorn divergence of thesis chapter 8 between
// the model's reparameterized samples x (uniform weights) and a reference
// batch y: OT(x, y) = W(x, y) - W(x, x)/2 - W(y, y)/2, with W the entropic
// transport cost of squared distances at temperature Epsilon. Data-
// dependent, y is data with uniform weights; DataFree, y are detached model
// samples weighted toward p_B by b = softmax(-beta U_B - log p_G) (eq. 74).
// In the self terms a point may not be matched to itself (C_ii = +inf),
// without which the debiasing fails (fig. 40). The gradient with respect to
// x is the envelope theorem's sum_j P_ij dC_ij/dx_i. Defaults: Epsilon 0.01,
// 256 iterations (appendix A.9).
type Sinkhorn struct {
	Epsilon    float64
	Iterations int
	DataFree   bool
}

func (l Sinkhorn) Info() Info {
	// log p_G is read for the batch size only.
	info := Info{Name: "sinkhorn", Inputs: []string{Coords, LogPG, RefCoords}, Samples: []string{ModelReparameterized, Data}, NeedsCoordinates: true}
	if l.DataFree {
		info.Name = "sinkhorn_df"
		info.Inputs = append(info.Inputs, RefBetaU, RefLogPG)
		info.Samples = []string{ModelReparameterized, ModelDetached}
	}
	return info
}

func (l Sinkhorn) Evaluate(in Inputs) (Result, error) {
	eps, iters := l.Epsilon, l.Iterations
	if eps == 0 {
		eps = 0.01
	}
	if iters == 0 {
		iters = 256
	}
	n, err := batch(in, LogPG, Coords)
	if err != nil {
		return Result{}, err
	}
	x, y := in[Coords], in[RefCoords]
	dim := len(x) / n
	if len(y) == 0 || len(y)%dim != 0 {
		return Result{}, fmt.Errorf("losses: %d reference coordinates are not rows of %d", len(y), dim)
	}
	m := len(y) / dim
	b := uniform(m)
	if l.DataFree {
		bu, lp := in[RefBetaU], in[RefLogPG]
		if len(bu) != m || len(lp) != m {
			return Result{}, fmt.Errorf("losses: sinkhorn_df needs %s and %s for each of the %d reference samples", RefBetaU, RefLogPG, m)
		}
		b = softmax(logRatio(bu, lp))
	}
	a := uniform(n)
	wxy, pxy := entropicCost(x, a, y, b, dim, eps, iters, false)
	wxx, pxx := entropicCost(x, a, x, a, dim, eps, iters, true)
	wyy, _ := entropicCost(y, b, y, b, dim, eps, iters, true)
	v := wxy - wxx/2 - wyy/2
	g := make([]float64, len(x))
	for i := 0; i < n; i++ {
		xi := x[i*dim : (i+1)*dim]
		gi := g[i*dim : (i+1)*dim]
		for j := 0; j < m; j++ {
			p := pxy[i*m+j]
			yj := y[j*dim : (j+1)*dim]
			for k := range gi {
				gi[k] += 2 * p * (xi[k] - yj[k])
			}
		}
		// W(x, x) depends on x_i as a row and as a column of its cost;
		// the plan is symmetric, so each gives sum_j P_ij 2 (x_i - x_j).
		for j := 0; j < n; j++ {
			p := pxx[i*n+j]
			if p == 0 {
				continue
			}
			xj := x[j*dim : (j+1)*dim]
			for k := range gi {
				gi[k] -= 0.5 * 2 * 2 * p * (xi[k] - xj[k])
			}
		}
	}
	grad := map[string][]float64{Coords: g, LogPG: make([]float64, n), RefCoords: make([]float64, len(y))}
	if l.DataFree {
		grad[RefBetaU] = make([]float64, m)
		grad[RefLogPG] = make([]float64, m)
	}
	return Result{Value: v, Grad: grad, Metrics: map[string]float64{"w_xy": wxy, "w_xx": wxx, "w_yy": wyy}}, nil
}

func uniform(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / float64(n)
	}
	return w
}

// entropicCost runs log-domain Sinkhorn for the squared-distance cost
// between rows x (weights a) and y (weights b), and returns the dual value
// sum a_i f_i + sum b_j g_j (Feydy's convention: the entropy relative to
// a (x) b, whose gradient in the points equals that of the thesis' eq. 72)
// and the plan P_ij = a_i b_j exp((f_i + g_j - C_ij)/eps). With noSelf,
// C_ii = +inf.
func entropicCost(x, a, y, b []float64, dim int, eps float64, iters int, noSelf bool) (float64, []float64) {
	n, m := len(a), len(b)
	c := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			if noSelf && i == j {
				c[i*m+j] = math.Inf(1)
				continue
			}
			var s float64
			for k := 0; k < dim; k++ {
				d := x[i*dim+k] - y[j*dim+k]
				s += d * d
			}
			c[i*m+j] = s
		}
	}
	la, lb := logs(a), logs(b)
	f, g := make([]float64, n), make([]float64, m)
	row, col := make([]float64, m), make([]float64, n)
	for it := 0; it < iters; it++ {
		for i := 0; i < n; i++ {
			for j := 0; j < m; j++ {
				row[j] = lb[j] + (g[j]-c[i*m+j])/eps
			}
			f[i] = -eps * logSumExp(row)
		}
		for j := 0; j < m; j++ {
			for i := 0; i < n; i++ {
				col[i] = la[i] + (f[i]-c[i*m+j])/eps
			}
			g[j] = -eps * logSumExp(col)
		}
	}
	var v float64
	for i := range f {
		v += a[i] * f[i]
	}
	for j := range g {
		v += b[j] * g[j]
	}
	p := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			if !math.IsInf(c[i*m+j], 1) {
				p[i*m+j] = math.Exp(la[i] + lb[j] + (f[i]+g[j]-c[i*m+j])/eps)
			}
		}
	}
	return v, p
}

func logs(w []float64) []float64 {
	out := make([]float64, len(w))
	for i, x := range w {
		out[i] = math.Log(x)
	}
	return out
}
