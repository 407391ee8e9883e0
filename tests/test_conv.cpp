// The CPU convolution (kernels/cpu/conv.cpp, Note [Convolution as blocked
// implicit GEMM]): forward, input gradient and weight gradient against
// direct float64 loops, on shapes chosen to walk every edge of its blocking:
// several column blocks, blocks that start in one image and end in the
// next, partial micro-kernel tiles on both sides, a reduction longer than
// one K block, backward-input tasks of several images and images longer
// than a block, groups, strides, dilation and padding; with every
// micro-kernel this CPU has, in float32 and float64. Then again with the
// direct kernel (conv_direct.cpp) wherever it applies (few input channels,
// stride 1). And bit for bit the same at 1, 2 and 3 threads.
#include <ember/kernels/gemm.h>

#include <limits>

#include "support.h"

using namespace ember;
using namespace ember::test;
using ember::kernels::cpu::GemmIsa;

namespace {

struct ConvCase {
  const char* what;
  int64_t n, c_in, h, w, c_out, kh, kw;
  Conv2dOptions opts;
};

const std::vector<ConvCase> kCases = {
    // 3 images of 196 positions: the forward's 512-column blocks split image 2.
    {"13 outputs over 3x14x14, pad 1", 3, 5, 14, 14, 13, 3, 3, {.padding = {1, 1}}},
    {"groups, stride, dilation", 4, 6, 11, 9, 8, 3, 2,
     {.stride = {2, 1}, .padding = {2, 1}, .dilation = {1, 2}, .groups = 2}},
    // K = 1089 taps: more than one K block of the float kernels (KC = 1024).
    {"K longer than a K block", 2, 121, 5, 5, 7, 3, 3, {.padding = {1, 1}}},
    // 900 positions: an image longer than a backward-input block.
    {"an image longer than a block, 5x5 pad 2", 2, 2, 30, 30, 3, 5, 5, {.padding = {2, 2}}},
    {"LeNet's first layer", 3, 1, 12, 12, 6, 5, 5, {.padding = {2, 2}}},
    {"1x1, stride 2, 9 images", 9, 4, 7, 7, 33, 1, 1, {.stride = {2, 2}}},
    // Rows of 12 positions 2 pixels apart: runs that cross a micro-kernel sliver's edge mid-row.
    {"column stride 2, 12 positions a row", 3, 2, 9, 23, 5, 3, 3, {.stride = {1, 2}, .padding = {1, 1}}},
    // 2880 columns: the weight gradient's sum runs in more than one task.
    {"weight gradient over two tasks", 5, 3, 24, 24, 4, 3, 3, {.padding = {1, 1}}},
    // One input channel, as LeNet's and the CNN's first layers. 39 columns:
    // two float vectors and 7 more; a 2x4 kernel (no width-specialized loop).
    {"one input channel, 2x4 kernel, 39 columns", 3, 1, 9, 40, 11, 2, 4, {.padding = {0, 1}}},
    {"one input channel, 33 outputs", 5, 1, 6, 18, 33, 3, 3, {.padding = {1, 1}}},
    {"one input channel at stride 2 (the GEMM)", 2, 1, 9, 9, 4, 3, 3, {.stride = {2, 2}}},
    {"padding wider than the kernel", 2, 3, 4, 6, 5, 2, 3, {.stride = {1, 3}, .padding = {3, 4}}},
};

int64_t out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

// y, grad_x and grad_W of one case by direct loops in double, for the loss
// sum(y * gy).
struct Expected {
  Ref y, gx, gw, gb;
};
Expected direct(const ConvCase& c, const Ref& x, const Ref& w, const Ref& b, const Ref& gy) {
  const auto& o = c.opts;
  const int64_t oh = out_size(c.h, c.kh, o.stride[0], o.padding[0], o.dilation[0]);
  const int64_t ow = out_size(c.w, c.kw, o.stride[1], o.padding[1], o.dilation[1]);
  const int64_t cgi = c.c_in / o.groups, cgo = c.c_out / o.groups;
  Expected e{{{c.n, c.c_out, oh, ow}, std::vector<double>(c.n * c.c_out * oh * ow)},
             {{c.n, c.c_in, c.h, c.w}, std::vector<double>(c.n * c.c_in * c.h * c.w)},
             {{c.c_out, cgi, c.kh, c.kw}, std::vector<double>(c.c_out * cgi * c.kh * c.kw)},
             {{c.c_out}, std::vector<double>(c.c_out)}};
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t co = 0; co < c.c_out; ++co)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          const int64_t yi = ((n * c.c_out + co) * oh + i) * ow + j;
          e.y.v[yi] += b.v[co];
          e.gb.v[co] += gy.v[yi];
          for (int64_t ci = 0; ci < cgi; ++ci)
            for (int64_t ki = 0; ki < c.kh; ++ki)
              for (int64_t kj = 0; kj < c.kw; ++kj) {
                const int64_t hh = i * o.stride[0] - o.padding[0] + ki * o.dilation[0];
                const int64_t ww = j * o.stride[1] - o.padding[1] + kj * o.dilation[1];
                if (hh < 0 || hh >= c.h || ww < 0 || ww >= c.w) continue;
                const int64_t xi = ((n * c.c_in + co / cgo * cgi + ci) * c.h + hh) * c.w + ww;
                const int64_t wi = ((co * cgi + ci) * c.kh + ki) * c.kw + kj;
                e.y.v[yi] += x.v[xi] * w.v[wi];
                e.gx.v[xi] += gy.v[yi] * w.v[wi];
                e.gw.v[wi] += gy.v[yi] * x.v[xi];
              }
        }
  return e;
}

struct Got {
  Tensor y, gx, gw, gb;
};
Got run(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy) {
  Tensor xg = x.clone().requires_grad_(), wg = w.clone().requires_grad_(), bg = b.clone().requires_grad_();
  Tensor y = conv2d(xg, wg, bg, c.opts);
  y.backward(gy);
  return {y.detach(), xg.grad(), wg.grad(), bg.grad()};
}

struct UseAlgorithm {
  kernels::cpu::CpuConvAlgorithm old = kernels::cpu::cpu_conv_algorithm();
  explicit UseAlgorithm(kernels::cpu::CpuConvAlgorithm a) { kernels::cpu::set_cpu_conv_algorithm(a); }
  ~UseAlgorithm() { kernels::cpu::set_cpu_conv_algorithm(old); }
};
const kernels::cpu::CpuConvAlgorithm kAlgorithms[] = {kernels::cpu::CpuConvAlgorithm::Auto,
                                                       kernels::cpu::CpuConvAlgorithm::Gemm};
const char* algorithm_name(kernels::cpu::CpuConvAlgorithm a) {
  return a == kernels::cpu::CpuConvAlgorithm::Auto ? "direct where it applies" : "GEMM only";
}

struct UseIsa {
  GemmIsa old = kernels::cpu::gemm_isa();
  explicit UseIsa(GemmIsa isa) { kernels::cpu::set_gemm_isa(isa); }
  ~UseIsa() { kernels::cpu::set_gemm_isa(old); }
};

}  // namespace

TEST_CASE("conv2d forward and all gradients match float64 loops, GEMM on every micro-kernel and direct kernel",
          "[conv]") {
  for (auto algorithm : kAlgorithms)
    for (DType dtype : {DType::Float32, DType::Float64})
      for (GemmIsa isa : {GemmIsa::Generic, GemmIsa::Avx2, GemmIsa::Avx512}) {
        if (!kernels::cpu::gemm_isa_supported(isa)) continue;
        UseAlgorithm use_algorithm(algorithm);
        UseIsa use(isa);
        uint64_t seed = 11;
        for (const ConvCase& c : kCases) {
          INFO(c.what << ", " << dtype_name(dtype) << ", " << kernels::cpu::gemm_isa_name(isa) << " kernel, "
                      << algorithm_name(algorithm));
          const int64_t cgi = c.c_in / c.opts.groups;
          Tensor x = random_input({c.n, c.c_in, c.h, c.w}, dtype, Layout::Contiguous, -1, 1, seed++);
          Tensor w = random_input({c.c_out, cgi, c.kh, c.kw}, dtype, Layout::Contiguous, -1, 1, seed++);
          Tensor b = random_input({c.c_out}, dtype, Layout::Contiguous, -1, 1, seed++);
          const Shape ys = conv2d(x, w, Tensor(), c.opts).shape();
          Tensor gy = random_input(ys, dtype, Layout::Contiguous, -1, 1, seed++);
          const Expected e = direct(c, ref_of(x), ref_of(w), ref_of(b), ref_of(gy));
          const Got got = run(c, x, w, b, gy);
          // Sums of up to a few thousand products of values in [-1, 1].
          const double tol = dtype == DType::Float32 ? 2e-5 * std::sqrt(double(cgi * c.kh * c.kw) + 1) : 1e-12;
          check_close(got.y, e.y, tol, tol, "y");
          check_close(got.gx, e.gx, tol, tol, "grad_x");
          const double wtol = dtype == DType::Float32 ? 2e-5 * std::sqrt(double(numel(ys)) / c.c_out + 1) : 1e-12;
          check_close(got.gw, e.gw, wtol, wtol, "grad_W");
          check_close(got.gb, e.gb, wtol, wtol, "grad_bias");
        }
      }
}

TEST_CASE("conv2d's three passes give the same bits at 1, 2 and 3 threads", "[conv][determinism]") {
  for (auto algorithm : kAlgorithms) {
    UseAlgorithm use_algorithm(algorithm);
    uint64_t seed = 101;
    for (const ConvCase& c : kCases) {
      INFO(c.what << ", " << algorithm_name(algorithm));
      Tensor x = random_input({c.n, c.c_in, c.h, c.w}, DType::Float32, Layout::Contiguous, -1, 1, seed++);
      Tensor w = random_input({c.c_out, c.c_in / c.opts.groups, c.kh, c.kw}, DType::Float32, Layout::Contiguous, -1, 1,
                              seed++);
      Tensor b = random_input({c.c_out}, DType::Float32, Layout::Contiguous, -1, 1, seed++);
      Tensor gy =
          random_input(conv2d(x, w, Tensor(), c.opts).shape(), DType::Float32, Layout::Contiguous, -1, 1, seed++);
      Got one;
      {
        ThreadCount tc(1);
        one = run(c, x, w, b, gy);
      }
      for (int threads : {2, 3}) {
        ThreadCount tc(threads);
        const Got many = run(c, x, w, b, gy);
        CHECK(many.y.to_vector<float>() == one.y.to_vector<float>());
        CHECK(many.gx.to_vector<float>() == one.gx.to_vector<float>());
        CHECK(many.gw.to_vector<float>() == one.gw.to_vector<float>());
        CHECK(many.gb.to_vector<float>() == one.gb.to_vector<float>());
      }
    }
  }
}

TEST_CASE("an inf pixel reaches only the weight-gradient taps that read it, on both algorithms", "[conv]") {
  // 1 channel, 3x3, padding 1, 5 columns: the direct kernel's float vector has
  // 11 lanes past the row, which read the inf column with a zero gradient.
  const ConvCase c{"inf in the last column", 2, 1, 5, 5, 3, 3, 3, {.padding = {1, 1}}};
  for (auto algorithm : kAlgorithms)
    for (DType dtype : {DType::Float32, DType::Float64}) {
      INFO(algorithm_name(algorithm) << ", " << dtype_name(dtype));
      UseAlgorithm use(algorithm);
      std::vector<double> xv = random_input({2, 1, 5, 5}, DType::Float64, Layout::Contiguous, -1, 1, 7)
                                   .to_vector<double>();
      xv[2 * 5 + 4] = std::numeric_limits<double>::infinity();  // image 0, row 2, column 4
      Tensor x = from_vector<double>(xv, {2, 1, 5, 5}).to(dtype);
      Tensor w = random_input({3, 1, 3, 3}, dtype, Layout::Contiguous, -1, 1, 8);
      Tensor b = random_input({3}, dtype, Layout::Contiguous, -1, 1, 9);
      Tensor gy = random_input({2, 3, 5, 5}, dtype, Layout::Contiguous, 0.5, 1, 10);
      const Expected e = direct(c, ref_of(x), ref_of(w), ref_of(b), ref_of(gy));
      const Got got = run(c, x, w, b, gy);
      const std::vector<double> gw = got.gw.to(DType::Float64).to_vector<double>();
      for (size_t i = 0; i < gw.size(); ++i) {
        INFO("grad_W element " << i << ": got " << gw[i] << ", expected " << e.gw.v[i]);
        CHECK(std::isfinite(gw[i]) == std::isfinite(e.gw.v[i]));  // column taps 1-2 read it (inf); tap 0 does not
      }
    }
}
