// What ember-bench's CPU and CUDA problem lists share: seeded inputs, the
// GEMM problem (the same on both devices), and selections of an
// implementation by backend.
#pragma once

#include <string>
#include <vector>

#include "problem.h"

namespace ember::bench {

// Uniform in [lo, hi), float32, from a fixed seed: every run and every
// implementation sees the same data. Made on the CPU and moved.
Tensor uniform(const Shape& shape, uint64_t seed, Device device, double lo = -1, double hi = 1);

// An implementation that is a backend of `type` ("cuda:cudnn", "cpu:eigen").
Impl backend_impl(const std::string& label, DeviceType type, const std::string& backend, bool vendor);
// Whether `type:name` is registered (cuda:cudnn only where it was built).
bool has_backend(DeviceType type, const std::string& name);
// `impls` plus, where cuda:cudnn is built, the vendor's row labelled `label`.
std::vector<Impl> with_vendor(std::vector<Impl> impls, const std::string& label);

// c (M, N) = a (M, K) @ b (K, N), float32, on `device`; with b_transposed,
// b is the transpose of an (N, K) matrix, a strided view (as nn::Linear and
// conv2d's GEMMs multiply by weight.t()). Checked in float64 on the CPU: 64
// entries spread over c (corners included), and every entry at once by
// Freivalds' check (c v against a (b v) for a random v); the whole product
// in float64 would take longer than all the timing at 8192^3.
Problem gemm_problem(const std::string& family, const std::string& name, int64_t m, int64_t k, int64_t n,
                     bool b_transposed, Device device, std::vector<Impl> impls);

// dst = src.clone() of n floats on `device`: the bandwidth ceiling (on a GPU,
// contiguous copies are one cudaMemcpyAsync device to device).
Problem copy_problem(Device device, int64_t n);

// An op over inputs made on the CPU and moved to `device`: the timed call
// runs `timed` (or `f`) on the device's copies; the check compares each of
// f's outputs, separately, with f on the CPU's inputs cast to float64 (the
// CPU backend in float64 is the reference: Note [A problem and its
// implementations]). `timed` is for in-place updates, whose check must
// start from fresh state.
using Tensors = std::vector<Tensor>;
using TensorsFn = std::function<Tensors(const Tensors&)>;
std::unique_ptr<Instance> reference_instance(const Tensors& cpu_inputs, Device device, const TensorsFn& f,
                                             const TensorsFn& timed = {});

// A problem on cuda:0 whose instance is reference_instance's: inputs made
// on the CPU, checked against the float64 CPU reference.
Problem device_problem(std::string family, std::string name, std::string shape, double flops, double bytes,
                       double tol, std::function<Tensors()> inputs, TensorsFn f, std::vector<Impl> impls,
                       TensorsFn timed = {});

// "4096x4096x4096"
std::string dims(const std::vector<int64_t>& d);

}  // namespace ember::bench
