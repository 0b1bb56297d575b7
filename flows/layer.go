package flows

// Direction of a pass through a layer or a flow.
type Direction int

const (
	// Generate is the generator direction G: latent z to configuration x.
	Generate Direction = iota
	// Invert is the inverse direction F: configuration x to latent z.
	Invert
)

func (d Direction) String() string {
	if d == Invert {
		return "inverse"
	}
	return "forward"
}

// Layer is one invertible map of a flow on rows of Dim numbers. A layer
// holds no per-batch state: what a backward pass needs lives in a cache
// from NewCache, one per worker, so that several workers run the same
// layer on different rows at once.
type Layer interface {
	Dim() int
	// NewCache returns the state one worker keeps between a pass and its
	// backward pass. Its buffers grow to the largest batch and are reused.
	NewCache() any
	// Pass maps the n rows of in to out in the given direction and adds
	// log |det d out / d in| of each row to ld. out and in do not overlap.
	Pass(dir Direction, p []float64, n int, in, out, ld []float64, c any)
	// Backward backpropagates through the last Pass on c, whose inputs and
	// outputs were in and out: given the cotangents dout of the outputs and
	// dld of the log-determinants it added, it writes the cotangents of
	// the inputs to din and adds the parameters' gradients into grad.
	Backward(p, grad []float64, n int, in, out, dout, dld, din []float64, c any)
}

// grow returns buf resized to n, reallocating only when it is too small.
func grow(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	return buf[:n]
}
