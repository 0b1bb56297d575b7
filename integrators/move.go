package integrators

import "context"

// Move changes a state: one step of dynamics, one Monte Carlo attempt for
// every walker, one round of replica swaps. After Apply, the state's
// energies and forces are those of its positions.
type Move interface {
	Name() string
	Apply(ctx context.Context, s *State) error
	// Stats returns the move's counts so far.
	Stats() MoveStats
}

// MoveStats counts a move's applications over all walkers: for Monte Carlo
// moves, attempted and accepted proposals; for dynamics, steps.
type MoveStats struct {
	Name      string `json:"name"`
	Attempted int64  `json:"attempted"`
	Accepted  int64  `json:"accepted"`
	// Importance, for flow proposals, is importance sampling with the
	// same proposals at the base temperature.
	Importance *ImportanceStats `json:"importance,omitempty"`
	// ByClass are the Metropolis-Hastings statistics per class (mode) of
	// the proposed configuration, when the move classifies them.
	ByClass []ClassStats `json:"by_class,omitempty"`
}

// ClassStats are a Metropolis-Hastings move's statistics over the proposals
// into one class (mode): how many, how many accepted, the mean of
// beta*(U(x') - U(x)) and of the log proposal ratio log q(x|x') - log
// q(x'|x), and the mean acceptance probability min(1, exp(log alpha)). A
// mode that proposals reach but whose mean beta*dU is far above the log
// ratio is one the proposal models badly.
type ClassStats struct {
	Class          string  `json:"class"`
	Attempted      int64   `json:"attempted"`
	Accepted       int64   `json:"accepted"`
	MeanBetaDU     float64 `json:"mean_beta_du"`
	MeanLogRatio   float64 `json:"mean_log_ratio"`
	MeanAcceptance float64 `json:"mean_acceptance"`
}

// ImportanceStats summarize the self-normalized importance weights
// exp(-U(x')/kT) / q(x') of a flow move's proposals made to walkers at the
// lowest temperature after equilibration.
type ImportanceStats struct {
	Samples int64 `json:"samples"`
	// ESSFraction is Kish's effective sample size over the number of
	// samples (the reverse ESS).
	ESSFraction float64 `json:"ess_fraction"`
	// LogZ is log-mean-exp of the log weights: log of the partition
	// function of exp(-U/kT) (in the flow's coordinates).
	LogZ float64 `json:"log_z"`
}

// Acceptance returns the fraction of accepted attempts (1 for dynamics).
func (m MoveStats) Acceptance() float64 {
	if m.Attempted == 0 {
		return 0
	}
	return float64(m.Accepted) / float64(m.Attempted)
}
