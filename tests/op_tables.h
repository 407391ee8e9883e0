// The op tables that run on every backend (Note [Tables on every backend] in
// backend_axis.h): forward results against float64 references, gradients by
// gradcheck, the nn ops against PyTorch's values, and the random and
// optimizer entries against their definitions. tests/test_ops_forward.cpp,
// test_gradcheck.cpp and test_nn_ops.cpp run them on every CPU backend;
// tests/test_cuda.cpp runs the same functions on every CUDA backend.
//
// How to add an op: add a row to its family's table in op_tables.cpp (or
// grad_cases.h, or the PyTorch fixture script tests/make_nn_fixtures.py)
// naming the primitives it exercises. Shapes, dtypes, layouts and backends
// come for free.
#pragma once

#include "backend_axis.h"

namespace ember::test {

// Note [Table tolerances]
// Results are compared with float64 references element by element:
// |got - want| <= atol + rtol * |want|.
//   float32: 1e-5 / 1e-5 for one rounding per element; elementwise ops and
//            copies. Reductions, softmax and matmul sum many terms: 10x.
//   float64: 1e-12 / 1e-12 (10x for sums).
// Rows marked `near_zero` are also checked on tiny inputs with a relative
// tolerance only (atol 0): an absolute tolerance hides a result that has
// lost all its digits, e.g. log(1 + x) for x = 1e-10, which a naive softplus
// or log1p gets wrong and every absolute row still passes.
struct Tolerance {
  double rtol, atol;
};
inline Tolerance elementwise_tolerance(DType t) {
  return t == DType::Float32 ? Tolerance{1e-5, 1e-5} : Tolerance{1e-12, 1e-12};
}
inline Tolerance summing_tolerance(DType t) {
  return t == DType::Float32 ? Tolerance{1e-4, 1e-4} : Tolerance{1e-11, 1e-11};
}
// Relative error allowed on near-zero rows (float32 keeps ~7 digits).
inline double near_zero_rtol(DType t) { return t == DType::Float32 ? 1e-5 : 1e-12; }

// Each runs one table on `b` (its rows whose primitives `b` implements)
// and reports failures through Catch2, naming the backend and the row.
void run_binary_table(const BackendUnderTest& b);
void run_unary_table(const BackendUnderTest& b);
void run_where_table(const BackendUnderTest& b);
void run_reduction_table(const BackendUnderTest& b);
void run_softmax_table(const BackendUnderTest& b);
void run_matmul_table(const BackendUnderTest& b);
void run_indexing_table(const BackendUnderTest& b);
void run_inplace_table(const BackendUnderTest& b);
void run_gradcheck_table(const BackendUnderTest& b, bool gradgrad);
void run_nn_fixture_table(const BackendUnderTest& b);
void run_random_table(const BackendUnderTest& b);
void run_optimizer_table(const BackendUnderTest& b);

}  // namespace ember::test
