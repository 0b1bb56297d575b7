package nn

import (
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
	backend                  = "gonum"
	backendNote              = ""
)

// Backend names the BLAS implementation the products use ("openblas" or
// "gonum") and, when OpenBLAS could not be used, why.
func Backend() (name, note string) { return backend, backendNote }

// gemm computes c = alpha op(a) op(b) + beta c for row-major matrices: op(a)
// is m x k, op(b) is k x n and c is m x n.
func gemm(ta, tb bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
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
	impl.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
