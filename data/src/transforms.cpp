// RandomShift, RandomCrop, the flip and the pixel -> float table behind ToTensor + Normalize
// (transforms.h).
#include "ember/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ember/core/error.h"

namespace ember::data {

void shift_image(const uint8_t* src, uint8_t* dst, const Shape& chw, int64_t dx, int64_t dy) {
  EMBER_CHECK(chw.size() == 3, ValueError, "shift_image: expected an image shape [C, H, W], got ", shape_str(chw));
  const int64_t channels = chw[0], h = chw[1], w = chw[2];
  std::memset(dst, 0, static_cast<size_t>(channels * h * w));
  // Destination columns [x0, x1) read source columns [x0 - dx, x1 - dx);
  // likewise rows. Empty when the shift is at least the image size.
  const int64_t x0 = std::max<int64_t>(0, dx), x1 = std::min<int64_t>(w, w + dx);
  const int64_t y0 = std::max<int64_t>(0, dy), y1 = std::min<int64_t>(h, h + dy);
  if (x0 >= x1 || y0 >= y1) return;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = y0; y < y1; ++y)
      std::memcpy(dst + (c * h + y) * w + x0, src + (c * h + y - dy) * w + x0 - dx, static_cast<size_t>(x1 - x0));
}

Shape crop_shape(const Shape& chw, int64_t size, int64_t padding) {
  EMBER_CHECK(chw.size() == 3, ValueError, "random crop: expected an image shape [C, H, W], got ", shape_str(chw));
  EMBER_CHECK(size >= 0 && padding >= 0, ValueError, "random crop: size (", size, ") and padding (", padding,
              ") must be >= 0");
  const int64_t h = size ? size : chw[1], w = size ? size : chw[2];
  EMBER_CHECK(h <= chw[1] + 2 * padding && w <= chw[2] + 2 * padding, ValueError, "random crop: a ", h, "x", w,
              " crop does not fit images ", shape_str(chw), " padded by ", padding, " (", chw[1] + 2 * padding, "x",
              chw[2] + 2 * padding, ")");
  return {chw[0], h, w};
}

void crop_image(const uint8_t* src, uint8_t* dst, const Shape& chw, int64_t size, int64_t padding, int64_t top,
                int64_t left) {
  const Shape out = crop_shape(chw, size, padding);
  const int64_t channels = chw[0], h = chw[1], w = chw[2], oh = out[1], ow = out[2];
  EMBER_CHECK(top >= 0 && top <= h + 2 * padding - oh && left >= 0 && left <= w + 2 * padding - ow, ValueError,
              "crop_image: offset (top ", top, ", left ", left, ") is outside [0, ", h + 2 * padding - oh, "] x [0, ",
              w + 2 * padding - ow, "] for a ", oh, "x", ow, " crop of ", shape_str(chw), " padded by ", padding);
  std::memset(dst, 0, static_cast<size_t>(channels * oh * ow));
  // Output (y, x) reads source (y + dy, x + dx), dy = top - p, dx = left - p:
  // output rows [y0, y1) and columns [x0, x1) are the ones inside the source.
  const int64_t dy = top - padding, dx = left - padding;
  const int64_t y0 = std::max<int64_t>(0, -dy), y1 = std::min<int64_t>(oh, h - dy);
  const int64_t x0 = std::max<int64_t>(0, -dx), x1 = std::min<int64_t>(ow, w - dx);
  if (x0 >= x1 || y0 >= y1) return;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = y0; y < y1; ++y)
      std::memcpy(dst + (c * oh + y) * ow + x0, src + (c * h + y + dy) * w + x0 + dx, static_cast<size_t>(x1 - x0));
}

void flip_image(const uint8_t* src, uint8_t* dst, const Shape& chw) {
  EMBER_CHECK(chw.size() == 3, ValueError, "flip_image: expected an image shape [C, H, W], got ", shape_str(chw));
  const int64_t rows = chw[0] * chw[1], w = chw[2];
  for (int64_t r = 0; r < rows; ++r)
    std::reverse_copy(src + r * w, src + (r + 1) * w, dst + r * w);
}

template <typename T>
std::vector<std::array<T, 256>> pixel_table(const Normalize* normalize, int64_t channels) {
  EMBER_CHECK(channels >= 1, ValueError, "pixel_table: need at least one channel, got ", channels);
  std::vector<std::array<T, 256>> table(static_cast<size_t>(channels));
  if (normalize) {
    const size_t nm = normalize->mean.size(), ns = normalize->std.size();
    auto fits = [&](size_t n) { return n == 1 || n == static_cast<size_t>(channels); };
    EMBER_CHECK(fits(nm) && fits(ns), ValueError, "Normalize: mean has ", nm, " values and std ", ns,
                "; each needs 1 or one per channel (", channels, ")");
    for (double s : normalize->std)
      EMBER_CHECK(s > 0 && std::isfinite(s), ValueError, "Normalize: std must be positive and finite, got ", s);
    for (double m : normalize->mean)
      EMBER_CHECK(std::isfinite(m), ValueError, "Normalize: mean must be finite, got ", m);
  }
  for (int64_t c = 0; c < channels; ++c) {
    for (int p = 0; p < 256; ++p) {
      // As torchvision: ToTensor divides by 255 in T, then Normalize
      // subtracts mean and divides by std, each rounded to T.
      T x = static_cast<T>(p) / static_cast<T>(255);
      if (normalize) {
        const auto mean = static_cast<T>(normalize->mean[normalize->mean.size() == 1 ? 0 : c]);
        const auto std = static_cast<T>(normalize->std[normalize->std.size() == 1 ? 0 : c]);
        x = (x - mean) / std;
      }
      table[static_cast<size_t>(c)][static_cast<size_t>(p)] = x;
    }
  }
  return table;
}

template std::vector<std::array<float, 256>> pixel_table<float>(const Normalize*, int64_t);
template std::vector<std::array<double, 256>> pixel_table<double>(const Normalize*, int64_t);

}  // namespace ember::data
