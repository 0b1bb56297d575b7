package nn

import (
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The flows are matrix products on skinny shapes (a batch of 128 rows
// times 15 x 256 and back). gonum's pure-Go GEMM does about 6 GFLOP/s on
// them here; OpenBLAS, single-threaded, 28-56 GFLOP/s in float64. So the
// products go through gonum's blas.Float64 interface backed by OpenBLAS
// when the shared library is present, and by gonum's own implementation
// otherwise; nothing else changes.
//
// OpenBLAS's own threads are switched off: they slow these shapes down by
// half, and the batch is already split over the cores by the caller.

var (
	impl        blas.Float64 = gonum.Implementation{}
	impl32      blas.Float32 = gonum.Implementation{}
	backend                  = "gonum"
	backendNote              = ""
)

// Float is the element type of a network: float64, or float32 where
// halving the memory traffic and doubling the GEMM speed pays.
type Float interface{ float32 | float64 }

// Backend names the BLAS implementation the products use ("openblas" or
// "gonum") and, when OpenBLAS could not be used, why.
func Backend() (name, note string) { return backend, backendNote }

// gemm computes c = alpha op(a) op(b) + beta c for row-major matrices: op(a)
// is m x k, op(b) is k x n and c is m x n.
func gemm[T Float](ta, tb bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	tA, tB := blas.NoTrans, blas.NoTrans
	if ta {
		tA = blas.Trans
	}
	if tb {
		tB = blas.Trans
	}
	// The element type is known at compile time; the switch on a zero
	// value does not allocate, and the slices are reinterpreted in place.
	var zero T
	switch any(zero).(type) {
	case float64:
		impl.Dgemm(tA, tB, m, n, k, float64(alpha), as[float64](a), lda, as[float64](b), ldb, float64(beta), as[float64](c), ldc)
	case float32:
		impl32.Sgemm(tA, tB, m, n, k, float32(alpha), as[float32](a), lda, as[float32](b), ldb, float32(beta), as[float32](c), ldc)
	}
}

// as views a slice of T as a slice of U, for T and U the same type.
func as[U, T Float](s []T) []U {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*U)(unsafe.Pointer(&s[0])), len(s))
}
