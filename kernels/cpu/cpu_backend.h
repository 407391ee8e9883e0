// The CPU Backend: plain loops over strided memory, on the thread pool above
// a size threshold, and our packed GEMM (gemm.cpp). Each group of entries is
// defined in its own file of kernels/cpu/.
#pragma once

#include "ember/core/backend.h"

namespace ember::kernels::cpu {

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  Allocator& allocator(int) override { return cpu_allocator(); }
  int device_count() const override { return 1; }

  // copy.cpp
  void copy(const TensorView& dst, const TensorView& src) override;
  void copy_from_host(void* dst, const void* host_src, size_t nbytes) override;
  void copy_to_host(void* host_dst, const void* src, size_t nbytes) override;
  void fill(const TensorView& dst, Scalar value) override;
  void arange(const TensorView& out, double start, double step) override;
  // elementwise.cpp
  void binary(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) override;
  void unary(UnaryOp op, const TensorView& out, const TensorView& a) override;
  void where(const TensorView& out, const TensorView& cond, const TensorView& a, const TensorView& b) override;
  // reduce.cpp
  void reduce(ReduceOp op, const TensorView& out, const TensorView& a) override;
  void softmax(const TensorView& out, const TensorView& a, int64_t dim, bool log) override;
  // matmul.cpp
  void matmul(const TensorView& out, const TensorView& a, const TensorView& b) override;
  // indexing.cpp
  void index_select(const TensorView& out, const TensorView& a, int64_t dim, const TensorView& index) override;
  void index_add(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src) override;
  void gather(const TensorView& out, const TensorView& a, int64_t dim, const TensorView& index) override;
  void scatter_add(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src) override;
  // window.cpp
  void im2col(const TensorView& cols, const TensorView& x, const WindowGeometry& g) override;
  void col2im(const TensorView& x, const TensorView& cols, const WindowGeometry& g) override;
  void max_pool2d_indices(const TensorView& indices, const TensorView& x, const WindowGeometry& g) override;
};

}  // namespace ember::kernels::cpu
