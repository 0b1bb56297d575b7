// Package nn is the small numeric core of the normalizing flows: dense
// layers, the activations the flows use, parameter initialization and the
// Adam optimizer, each with an analytic backward pass. It works on
// row-major batches in float64 and keeps every trainable number in one
// flat vector, so that gradients from several workers add up, the
// optimizer and the gradient norm see one array, and a checkpoint is one
// copy.
//
// Matrix products go through gonum's BLAS interface, backed by OpenBLAS
// when the machine has it (see Backend).
package nn
