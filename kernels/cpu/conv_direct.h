// The direct convolution of few input channels (conv_direct.cpp, Note
// [Direct convolution of few input channels]): conv.cpp's forward and
// weight gradient take it when direct_conv_applies. Contiguous NCHW
// tensors; x is (n, c_in, h, w), w is (c_out, c_in, kh, kw), y and grad_y
// are (n, c_out, out_h, out_w).
#pragma once

#include <cstdint>

#include "ember/core/backend.h"

namespace ember::kernels::cpu {

// At most 8 input channels, groups 1, stride 1, no dilation, kernels of at
// most 64 taps; and set_cpu_conv_algorithm has not asked for the GEMM.
bool direct_conv_applies(const Shape& x, const Shape& w, const WindowGeometry& g, int64_t groups);

template <typename T>
void direct_conv_forward(T* y, const T* x, const T* w, const T* bias, int64_t n, int64_t c_in, int64_t c_out,
                         const WindowGeometry& g);

// grad_w (c_out, c_in*kh*kw) = sum over images and positions of grad_y * x; not the bias.
template <typename T>
void direct_conv_backward_weight(T* grad_w, const T* grad_y, const T* x, int64_t n, int64_t c_in, int64_t c_out,
                                 const WindowGeometry& g);

}  // namespace ember::kernels::cpu
