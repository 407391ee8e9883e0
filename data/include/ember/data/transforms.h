// Transforms the DataLoader applies while it builds a batch, in this order:
//
//   1. RandomShift (optional, uint8 space): move the image by (dx, dy) with
//      dx, dy uniform in [-k, k], filling uncovered pixels with 0. The draw
//      is a function of (seed, epoch, dataset index): Note [Data randomness].
//   1a. RandomCrop (optional, uint8 space, not with RandomShift): pad each
//      side with p zeros, then cut a size x size window at (top, left), each
//      uniform in [0, H + 2p - size] (resp. W), drawn from (seed, epoch,
//      index); torchvision's RandomCrop(size, padding=p). The batch's images
//      are [C, size, size]. The usual CIFAR augmentation: size 32, p = 4.
//   1b. random horizontal flip (optional, uint8 space): mirror the image
//      left-right with probability 1/2, also drawn from (seed, epoch,
//      index). Right for clothes (Fashion-MNIST) and CIFAR's photos, wrong
//      for digits.
//   2. to float: x = pixel / 255, in [0, 1]   (torchvision's ToTensor)
//   3. Normalize (optional): x = (x - mean[c]) / std[c]
//                                             (torchvision's Normalize)
//
// So a CIFAR training pipeline is torchvision's usual RandomCrop(32, 4) ->
// RandomHorizontalFlip -> ToTensor -> Normalize. Steps 2 and 3 are done in
// the batch's dtype, in the same operation order as torchvision, so a
// float32 batch equals PyTorch's bit for bit. As a pixel has only 256
// values, they become a 256-entry table per channel (pixel_table) and a
// batch is built by lookup.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ember/core/dtype.h"
#include "ember/core/shape.h"

namespace ember::data {

struct Normalize {
  std::vector<double> mean = {0.0};  // one value for all channels, or one per channel
  std::vector<double> std = {1.0};

  /// Training-set statistics of the prepared datasets (docs/data.md).
  static Normalize mnist_digits() { return {{0.130884}, {0.308352}}; }
  static Normalize fashion_mnist() { return {{0.286041}, {0.353024}}; }
  /// CIFAR's per-channel (R, G, B) training-set statistics, as the PyTorch
  /// CIFAR examples commonly use them (docs/data.md).
  static Normalize cifar10() { return {{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}}; }
  static Normalize cifar100() { return {{0.5071, 0.4865, 0.4409}, {0.2673, 0.2564, 0.2762}}; }
};

struct RandomShift {
  int64_t max_shift = 2;  // k: each of dx, dy is uniform in [-k, k]
};

struct RandomCrop {
  int64_t size = 0;     // the output is size x size; 0: the image's own H x W
  int64_t padding = 4;  // zeros added on each side before cropping
};

/// The shape [C, size, size] (or [C, H, W] for size 0) that RandomCrop makes
/// of images `chw`; ValueError when the window does not fit the padded image
/// (size > H + 2p or W + 2p) or size or padding is negative.
Shape crop_shape(const Shape& chw, int64_t size, int64_t padding);

/// Crops a uint8 image [C, H, W], padded with `padding` zeros on each side,
/// to crop_shape(chw, size, padding) at (top, left) of the padded image:
/// dst[c][y][x] = src[c][top + y - p][left + x - p], 0 outside the source.
/// As torchvision.transforms.functional crop(pad(img, p), top, left, h, w).
void crop_image(const uint8_t* src, uint8_t* dst, const Shape& chw, int64_t size, int64_t padding, int64_t top,
                int64_t left);

/// Shifts a uint8 image [C, H, W] by dx columns (right when > 0) and dy rows
/// (down when > 0): dst[c][y][x] = src[c][y - dy][x - dx], 0 outside.
void shift_image(const uint8_t* src, uint8_t* dst, const Shape& chw, int64_t dx, int64_t dy);

/// Mirrors a uint8 image [C, H, W] left-right: dst[c][y][x] = src[c][y][W-1-x].
void flip_image(const uint8_t* src, uint8_t* dst, const Shape& chw);

/// The value each pixel 0..255 of channel c becomes (steps 2 and 3 above),
/// for float (T = float) or double (T = double) batches. `normalize` may be
/// null (no step 3). Throws ValueError for a mean/std list that is neither
/// one value nor one per channel, or a std that is not positive.
template <typename T>
std::vector<std::array<T, 256>> pixel_table(const Normalize* normalize, int64_t channels);

}  // namespace ember::data
