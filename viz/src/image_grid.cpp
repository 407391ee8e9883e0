// The image grid: grey or colour images (learned filters, test images) in
// rows, each with an optional caption.
//
// Pixels are drawn as rectangles, not an embedded bitmap, so the SVG stays
// pure vector and every renderer shows them crisp. To keep files small, each
// image gets a black background and each row draws runs of equal colour as
// one rectangle: an MNIST digit needs ~150 rects, not 784.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ember/core/error.h"
#include "ember/viz/charts.h"
#include "frame.h"

namespace ember::viz {

namespace {

std::string hex_colour(int r, int g, int b) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", std::clamp(r, 0, 255), std::clamp(g, 0, 255), std::clamp(b, 0, 255));
  return buf;
}

// One image at (x0, y0): levels 0..255 over [lo, hi], grey or (three planes)
// colour; a pixel with a NaN in any plane in vermillion, so it stands out.
// Returns how many pixels were not finite.
size_t draw_image(Svg& svg, const GrayImage& im, double x0, double y0, double px, double lo, double hi) {
  const int64_t plane = im.height * im.width;
  auto level = [&](float v) {
    if (!std::isfinite(v)) return -1;
    return hi > lo ? static_cast<int>(std::lround(255 * std::clamp((v - lo) / (hi - lo), 0.0, 1.0))) : 0;
  };
  // A pixel's colour as one number: 0xRRGGBB, 0 for black, -1 when not finite.
  auto colour = [&](int64_t i) {
    if (im.channels == 1) {
      const int g = level(im.pixels[static_cast<size_t>(i)]);
      return g < 0 ? -1 : g * 0x010101;
    }
    int rgb = 0;
    for (int64_t c = 0; c < 3; ++c) {
      const int v = level(im.pixels[static_cast<size_t>(c * plane + i)]);
      if (v < 0) return -1;
      rgb = rgb << 8 | v;
    }
    return rgb;
  };
  svg.rect(x0, y0, im.width * px, im.height * px, hex_colour(0, 0, 0));
  size_t bad = 0;
  for (int64_t r = 0; r < im.height; ++r) {
    for (int64_t c = 0; c < im.width;) {
      const int k = colour(r * im.width + c);
      int64_t end = c + 1;
      while (end < im.width && colour(r * im.width + end) == k) ++end;
      if (k < 0) bad += end - c;
      if (k != 0)
        svg.rect(x0 + c * px, y0 + r * px, (end - c) * px, px,
                 k < 0 ? "#D55E00" : hex_colour(k >> 16, (k >> 8) & 0xff, k & 0xff));
      c = end;
    }
  }
  return bad;
}

}  // namespace

std::string image_grid(const std::vector<GrayImage>& images, const ImageGridOptions& o) {
  EMBER_CHECK(o.columns > 0, ValueError, "image_grid: columns must be positive, got ", o.columns);
  EMBER_CHECK(o.pixel > 0, ValueError, "image_grid: the pixel size must be positive, got ", o.pixel);
  int64_t max_h = 1, max_w = 1;
  bool captions = false;
  double caption_w = 0;
  DataRange all;
  for (size_t i = 0; i < images.size(); ++i) {
    const GrayImage& im = images[i];
    EMBER_CHECK(im.channels == 1 || im.channels == 3, ValueError, "image_grid: image ", i, " has ", im.channels,
                " channels; a grid shows grey (1) or colour (3) images");
    EMBER_CHECK(im.height > 0 && im.width > 0 &&
                    im.pixels.size() == static_cast<size_t>(im.channels * im.height * im.width),
                ValueError, "image_grid: image ", i, " is ", im.channels, "x", im.height, "x", im.width, " but has ",
                im.pixels.size(), " values");
    max_h = std::max(max_h, im.height);
    max_w = std::max(max_w, im.width);
    captions = captions || !im.caption.empty();
    caption_w = std::max(caption_w, detail::text_width(im.caption, style::kNoteSize));
    merge(all, data_range(std::vector<double>(im.pixels.begin(), im.pixels.end())));
  }
  const size_t cols = std::min<size_t>(o.columns, std::max<size_t>(images.size(), 1));
  const size_t rows = (images.size() + cols - 1) / cols;
  const double gap = 10, cell_w = std::max({max_w * o.pixel, caption_w, 24.0}), cell_h = max_h * o.pixel + (captions ? 18 : 0);
  const double top = o.title.empty() ? 12 : 44;
  const std::string note = images.empty() ? "no images" : detail::skipped_note(all.skipped, "NaN or infinite, drawn in vermillion");
  const double width = std::max(gap + cols * (cell_w + gap), detail::text_width(o.title, style::kTitleSize) + 40);
  const double height = top + rows * (cell_h + gap) + (note.empty() ? 0 : 20);

  Svg svg(width, height, o.title);
  detail::draw_title(svg, o.title);
  for (size_t i = 0; i < images.size(); ++i) {
    const GrayImage& im = images[i];
    const double x = gap + (i % cols) * (cell_w + gap), y = top + (i / cols) * (cell_h + gap);
    const double x_img = x + (cell_w - im.width * o.pixel) / 2;
    DataRange own = o.normalize_each ? data_range(std::vector<double>(im.pixels.begin(), im.pixels.end())) : all;
    svg.open_group("shape-rendering=\"crispEdges\"");
    draw_image(svg, im, x_img, y, o.pixel, own.lo, own.hi);
    svg.close_group();
    if (!im.caption.empty())
      svg.text(x + cell_w / 2, y + im.height * o.pixel + 14, im.caption, style::kNoteSize, Svg::Anchor::Middle);
  }
  detail::draw_note(svg, note);
  return svg.finish();
}

}  // namespace ember::viz
