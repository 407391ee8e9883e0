#include "ember/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "ember/autograd/engine.h"
#include "ember/autograd/ops.h"
#include "ember/core/grad_mode.h"

namespace ember {

namespace {

std::vector<Tensor> differentiable(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) {
    if (!t.defined() || !t.requires_grad()) continue;
    EMBER_CHECK(t.dtype() == DType::Float64, DTypeError, "gradcheck: inputs that require grad must be float64, got ",
                dtype_name(t.dtype()));
    for (int64_t d = 0; d < t.dim(); ++d)
      EMBER_CHECK(t.stride(d) != 0 || t.size(d) <= 1, ValueError, "gradcheck: input of shape ",
                  shape_str(t.shape()), " overlaps itself in memory (stride 0); pass a contiguous() copy");
    out.push_back(t);
  }
  EMBER_CHECK(!out.empty(), ValueError, "gradcheck: no input requires grad");
  return out;
}

// Pointer to logical element `flat` (row-major) of t, through its strides.
double* element(const Tensor& t, int64_t flat) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    off += (flat % t.size(d)) * t.stride(d);
    flat /= t.size(d);
  }
  return t.data_ptr<double>() + off;
}

}  // namespace

GradcheckResult gradcheck(const DifferentiableFn& f, const std::vector<Tensor>& inputs, GradcheckOptions opts) {
  std::vector<Tensor> wrt = differentiable(inputs);
  Tensor y = f(inputs);
  EMBER_CHECK(y.dtype() == DType::Float64, DTypeError, "gradcheck: the function must return float64, got ",
              dtype_name(y.dtype()));
  Generator gen(opts.seed);
  Tensor v = randn(y.shape(), {.dtype = DType::Float64}, &gen);
  // An output that does not depend on the inputs at all (the gradient of a
  // linear function, in gradgradcheck) has zero gradient everywhere.
  std::vector<Tensor> analytic(wrt.size());
  if (y.requires_grad()) analytic = autograd::grad({y}, wrt, {v}, false, false, /*allow_unused=*/true);

  NoGradGuard no_grad;
  auto weighted = [&] { return (f(inputs) * v).sum().item<double>(); };
  for (size_t i = 0; i < wrt.size(); ++i) {
    std::vector<double> a = analytic[i].defined() ? analytic[i].to_vector<double>()
                                                  : std::vector<double>(wrt[i].numel(), 0.0);
    for (int64_t j = 0; j < wrt[i].numel(); ++j) {
      double* x = element(wrt[i], j);
      const double orig = *x;
      *x = orig + opts.eps;
      const double plus = weighted();
      *x = orig - opts.eps;
      const double minus = weighted();
      *x = orig;
      const double numeric = (plus - minus) / (2 * opts.eps);
      if (!(std::abs(a[j] - numeric) <= opts.atol + opts.rtol * std::abs(numeric))) {
        std::ostringstream os;
        os << "gradcheck: mismatch for input " << i << " (shape " << shape_str(wrt[i].shape()) << ") at element " << j
           << ": analytic " << a[j] << ", numeric " << numeric;
        return {false, os.str()};
      }
    }
  }
  return {};
}

GradcheckResult gradgradcheck(const DifferentiableFn& f, const std::vector<Tensor>& inputs, GradcheckOptions opts) {
  std::vector<Tensor> wrt = differentiable(inputs);
  Shape out_shape = f(inputs).shape();
  Generator gen(opts.seed + 1);
  Tensor v = randn(out_shape, {.dtype = DType::Float64}, &gen);
  // The function whose gradient we check: x -> (d(v . f(x))/dx) flattened.
  DifferentiableFn first_grad = [&](const std::vector<Tensor>& xs) {
    GradModeGuard enable(true);
    Tensor y = f(xs);
    std::vector<Tensor> gs = autograd::grad({y}, wrt, {v}, true, /*create_graph=*/true, /*allow_unused=*/true);
    std::vector<Tensor> flat;
    for (size_t i = 0; i < gs.size(); ++i)
      flat.push_back(gs[i].defined() ? reshape(gs[i], {-1}) : zeros({wrt[i].numel()}, {.dtype = DType::Float64}));
    return cat(flat);
  };
  return gradcheck(first_grad, inputs, opts);
}

}  // namespace ember
