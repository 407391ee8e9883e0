// The CUDA matmul entry: which GEMM kernel runs (Note [SGEMM ladder] in
// gemm.h), and the strides each operand is read through.
#include <atomic>
#include <cstdlib>

#include "gemm.h"
#include "launchers.h"

namespace ember::kernels::cuda {

namespace {

using SgemmLauncher = void (*)(const GemmProblem<float>&, void*);

SgemmLauncher launcher_of(Sgemm v) {
  switch (v) {
    case Sgemm::Naive: return sgemm_naive;
    case Sgemm::Coalesced: return sgemm_coalesced;
    case Sgemm::SmemTiled: return sgemm_smem_tiled;
    case Sgemm::RegTiled1d: return sgemm_reg_tiled_1d;
    case Sgemm::RegTiled2d: return sgemm_reg_tiled_2d;
    case Sgemm::Vec4: return sgemm_vec4;
    case Sgemm::WarpTiled: return sgemm_warp_tiled;
    case Sgemm::Multistage: return sgemm_multistage;
  }
  return sgemm_warp_tiled;
}

std::string all_names() {
  std::string s;
  for (const auto& [v, name] : sgemm_names()) s += (s.empty() ? "" : ", ") + name;
  return s;
}

Sgemm parse(const std::string& name, const char* source) {
  for (const auto& [v, n] : sgemm_names())
    if (n == name) return v;
  throw ValueError(detail::concat(source, ": unknown SGEMM variant '", name, "' (the variants: ", all_names(), ")"));
}

// The chosen variant: EMBER_SGEMM when first asked, then set_sgemm.
std::atomic<int>& chosen() {
  static std::atomic<int> v = [] {
    const char* env = std::getenv("EMBER_SGEMM");
    return static_cast<int>(env && *env ? parse(env, "EMBER_SGEMM") : kDefaultSgemm);
  }();
  return v;
}

template <typename T>
GemmProblem<T> problem_of(const TensorView& out, const TensorView& a, const TensorView& b) {
  // A view's stride along a batch of one can be anything: 0 says it is unused
  // (and keeps the kernels' alignment checks from tripping on it).
  const int64_t a_batch = a.shape[0] == 1 ? 0 : a.strides[0], b_batch = b.shape[0] == 1 ? 0 : b.strides[0];
  return {a.ptr<T>(), a_batch,    a.strides[1], a.strides[2],
          b.ptr<T>(), b_batch,    b.strides[1], b.strides[2],
          out.ptr<T>(), a.shape[0],  a.shape[1],  b.shape[2], a.shape[2]};
}

}  // namespace

const std::vector<std::pair<Sgemm, std::string>>& sgemm_names() {
  static const std::vector<std::pair<Sgemm, std::string>> names = {
      {Sgemm::Naive, "naive"},           {Sgemm::Coalesced, "coalesced"},   {Sgemm::SmemTiled, "smem_tiled"},
      {Sgemm::RegTiled1d, "reg_tiled_1d"}, {Sgemm::RegTiled2d, "reg_tiled_2d"}, {Sgemm::Vec4, "vec4"},
      {Sgemm::WarpTiled, "warp_tiled"},     {Sgemm::Multistage, "multistage"}};
  return names;
}

Sgemm sgemm_variant() { return static_cast<Sgemm>(chosen().load()); }
void set_sgemm_variant(const std::string& name) { chosen().store(static_cast<int>(parse(name, "set_sgemm"))); }

void matmul(const ExecContext& ctx, const TensorView& out, const TensorView& a, const TensorView& b) {
  switch (a.dtype) {
    case DType::Float32: return launcher_of(sgemm_variant())(problem_of<float>(out, a, b), ctx.stream);
    case DType::Float64: return gemm_tiled(problem_of<double>(out, a, b), ctx.stream);
    case DType::Int64: return gemm_tiled(problem_of<int64_t>(out, a, b), ctx.stream);
    case DType::UInt8: return gemm_tiled(problem_of<uint8_t>(out, a, b), ctx.stream);
    default: throw DTypeError(detail::concat("matmul: not defined for ", dtype_name(a.dtype)));
  }
}

}  // namespace ember::kernels::cuda
