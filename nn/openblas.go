//go:build cgo && !noopenblas

package nn

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>

typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *, int,
                         const double *, int, double, double *, int);
typedef void (*threads_fn)(int);

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);

static dgemm_fn flowmd_dgemm_ptr;
static sgemm_fn flowmd_sgemm_ptr;

// flowmd_openblas_load opens OpenBLAS at run time, so that a machine
// without it still builds and runs flowmd (on gonum's BLAS). It returns
// NULL on success, else the loader's message.
static const char *flowmd_openblas_load(void) {
	const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp-r0.3.21.so", NULL};
	void *h = NULL;
	for (int i = 0; names[i] != NULL && h == NULL; i++) {
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	}
	if (h == NULL) {
		return dlerror();
	}
	flowmd_dgemm_ptr = (dgemm_fn)dlsym(h, "cblas_dgemm");
	flowmd_sgemm_ptr = (sgemm_fn)dlsym(h, "cblas_sgemm");
	threads_fn threads = (threads_fn)dlsym(h, "openblas_set_num_threads");
	if (flowmd_dgemm_ptr == NULL || flowmd_sgemm_ptr == NULL || threads == NULL) {
		return "the library lacks cblas_dgemm, cblas_sgemm or openblas_set_num_threads";
	}
	threads(1);
	return NULL;
}

static void flowmd_dgemm(int ta, int tb, int m, int n, int k, double alpha, const double *a, int lda,
                         const double *b, int ldb, double beta, double *c, int ldc) {
	// 101 CblasRowMajor, 111 CblasNoTrans, 112 CblasTrans
	flowmd_dgemm_ptr(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void flowmd_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc) {
	flowmd_sgemm_ptr(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
*/
import "C"

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func init() {
	if msg := C.flowmd_openblas_load(); msg != nil {
		backendNote = "OpenBLAS not loaded: " + C.GoString(msg)
		return
	}
	impl, impl32, backend = openBLAS{}, openBLAS{}, "openblas"
}

// openBLAS is gonum's implementation with Dgemm and Sgemm done by OpenBLAS.
type openBLAS struct{ gonum.Implementation }

func (o openBLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if !checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) {
		return
	}
	if k == 0 {
		o.Implementation.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.flowmd_dgemm(cbool(tA != blas.NoTrans), cbool(tB != blas.NoTrans), C.int(m), C.int(n), C.int(k), C.double(alpha),
		(*C.double)(&a[0]), C.int(lda), (*C.double)(&b[0]), C.int(ldb), C.double(beta), (*C.double)(&c[0]), C.int(ldc))
}

func (o openBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) {
		return
	}
	if k == 0 {
		o.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.flowmd_sgemm(cbool(tA != blas.NoTrans), cbool(tB != blas.NoTrans), C.int(m), C.int(n), C.int(k), C.float(alpha),
		(*C.float)(&a[0]), C.int(lda), (*C.float)(&b[0]), C.int(ldb), C.float(beta), (*C.float)(&c[0]), C.int(ldc))
}

// checkGemm makes the checks gonum makes, so that a wrong call panics in Go
// instead of corrupting memory in C. It reports whether there is anything
// to compute.
func checkGemm(tA, tB blas.Transpose, m, n, k, lenA, lda, lenB, ldb, lenC, ldc int) bool {
	ta, tb := tA != blas.NoTrans, tB != blas.NoTrans
	rowsA, colsA := m, k
	if ta {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if tb {
		rowsB, colsB = n, k
	}
	switch {
	case m < 0 || n < 0 || k < 0:
		panic(fmt.Sprintf("nn: gemm with negative size %d %d %d", m, n, k))
	case lda < max(1, colsA) || ldb < max(1, colsB) || ldc < max(1, n):
		panic("nn: gemm with a bad leading dimension")
	case m == 0 || n == 0:
		return false
	case (rowsA > 0 && lenA < lda*(rowsA-1)+colsA) || (rowsB > 0 && lenB < ldb*(rowsB-1)+colsB) || lenC < ldc*(m-1)+n:
		panic("nn: gemm with a short slice")
	}
	return true
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
