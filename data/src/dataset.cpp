// Dataset, TensorDataset and Subset (dataset.h). Only core is used: images
// come out as views made with make_view, pixels are copied with memcpy.
#include "ember/data/dataset.h"

#include <cstring>
#include <numeric>

namespace ember::data {

int64_t Dataset::read_into(int64_t index, uint8_t* pixels) const {
  Example ex = get(index);
  const Shape want = image_shape();
  EMBER_CHECK(ex.image.defined() && ex.image.dtype() == DType::UInt8 && ex.image.shape() == want, ValueError,
              "Dataset::read_into: example ", index, " should be a uint8 image of shape ", shape_str(want), ", got ",
              ex.image.defined() ? dtype_name(ex.image.dtype()) : "undefined", " ",
              ex.image.defined() ? shape_str(ex.image.shape()) : "");
  EMBER_CHECK(ex.image.device().is_cpu(), DeviceError, "Dataset::read_into: example ", index, " is on ",
              ex.image.device().str(), ", datasets must yield CPU images");
  // Strided copy of a [C, H, W] image (a dataset may hand out views).
  const uint8_t* src = ex.image.data_ptr<uint8_t>();
  const Strides& st = ex.image.strides();
  for (int64_t c = 0, o = 0; c < want[0]; ++c)
    for (int64_t y = 0; y < want[1]; ++y)
      for (int64_t x = 0; x < want[2]; ++x) pixels[o++] = src[c * st[0] + y * st[1] + x * st[2]];
  return ex.label;
}

TensorDataset::TensorDataset(Tensor images, Tensor labels) { set_tensors(std::move(images), std::move(labels)); }

void TensorDataset::set_tensors(Tensor images, Tensor labels) {
  EMBER_CHECK(images.defined() && labels.defined(), ValueError, "TensorDataset: images and labels must be defined");
  EMBER_CHECK(images.dtype() == DType::UInt8 && images.dim() == 4, ValueError,
              "TensorDataset: images must be uint8 [N, C, H, W], got ", dtype_name(images.dtype()), " ",
              shape_str(images.shape()));
  EMBER_CHECK(labels.dtype() == DType::Int64 && labels.dim() == 1, ValueError,
              "TensorDataset: labels must be int64 [N], got ", dtype_name(labels.dtype()), " ",
              shape_str(labels.shape()));
  EMBER_CHECK(images.size(0) == labels.size(0), ValueError, "TensorDataset: ", images.size(0), " images but ",
              labels.size(0), " labels");
  EMBER_CHECK(images.device().is_cpu() && labels.device().is_cpu(), DeviceError,
              "TensorDataset: images and labels must be CPU tensors");
  EMBER_CHECK(images.is_contiguous() && labels.is_contiguous(), ValueError,
              "TensorDataset: images and labels must be contiguous");
  images_ = std::move(images);
  labels_ = std::move(labels);
}

Shape TensorDataset::image_shape() const {
  const Shape& s = images_.shape();
  return {s[1], s[2], s[3]};
}

Example TensorDataset::get(int64_t index) const {
  EMBER_CHECK(index >= 0 && index < size(), IndexError, "TensorDataset::get: index ", index,
              " is out of range for a dataset of ", size(), " examples");
  const int64_t per_image = numel(image_shape());
  Tensor image = make_view(images_, image_shape(), contiguous_strides(image_shape()),
                           images_.offset() + index * per_image);
  return {image, labels_.data_ptr<int64_t>()[index]};
}

int64_t TensorDataset::read_into(int64_t index, uint8_t* pixels) const {
  EMBER_CHECK(index >= 0 && index < size(), IndexError, "TensorDataset::read_into: index ", index,
              " is out of range for a dataset of ", size(), " examples");
  const int64_t per_image = numel(image_shape());
  std::memcpy(pixels, images_.data_ptr<uint8_t>() + index * per_image, static_cast<size_t>(per_image));
  return labels_.data_ptr<int64_t>()[index];
}

Subset::Subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  EMBER_CHECK(base_ != nullptr, ValueError, "Subset: base dataset is null");
  const int64_t n = base_->size();
  for (size_t i = 0; i < indices_.size(); ++i)
    EMBER_CHECK(indices_[i] >= 0 && indices_[i] < n, IndexError, "Subset: index ", indices_[i], " (position ", i,
                ") is out of range for a dataset of ", n, " examples");
}

int64_t Subset::base_index(int64_t index) const {
  EMBER_CHECK(index >= 0 && index < size(), IndexError, "Subset: index ", index, " is out of range for a subset of ",
              size(), " examples");
  return indices_[static_cast<size_t>(index)];
}

Example Subset::get(int64_t index) const { return base_->get(base_index(index)); }

int64_t Subset::read_into(int64_t index, uint8_t* pixels) const {
  return base_->read_into(base_index(index), pixels);
}

std::vector<int64_t> index_range(int64_t first, int64_t count) {
  EMBER_CHECK(count >= 0, ValueError, "index_range: negative count ", count);
  std::vector<int64_t> out(static_cast<size_t>(count));
  std::iota(out.begin(), out.end(), first);
  return out;
}

}  // namespace ember::data
