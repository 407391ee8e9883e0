// Datasets: indexable collections of (image, label) examples, as in
// torch.utils.data.Dataset. Images are uint8 pixels [C, H, W], all of one
// shape, labels integer class ids; turning pixels into float tensors
// (scaling, normalization, augmentation) is the DataLoader's job, done once
// per batch (see loader.h).
//
// A Dataset is read concurrently (the DataLoader's prefetch thread reads it
// while the training loop may read it too), so get() and read_into() must
// be safe to call from several threads: true of anything that only reads
// memory, as the datasets here do.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::data {

struct Example {
  Tensor image;   // uint8 [C, H, W]
  int64_t label;  // class id
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  /// Number of examples; valid indices are [0, size()).
  virtual int64_t size() const = 0;
  /// Shape [C, H, W] shared by every image.
  virtual Shape image_shape() const = 0;
  /// Example `index`; throws IndexError when out of range.
  virtual Example get(int64_t index) const = 0;
  /// Copies example `index`'s pixels (numel(image_shape()) bytes, row-major)
  /// to `pixels` and returns its label. The DataLoader uses this to batch
  /// without a temporary tensor per example; the default goes through get().
  virtual int64_t read_into(int64_t index, uint8_t* pixels) const;
};

/// A dataset held in memory: images uint8 [N, C, H, W] and labels int64 [N]
/// (both contiguous CPU tensors). get(i) returns a view into `images`, not a
/// copy.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor images, Tensor labels);

  int64_t size() const override { return images_.size(0); }
  Shape image_shape() const override;
  Example get(int64_t index) const override;
  int64_t read_into(int64_t index, uint8_t* pixels) const override;

  const Tensor& images() const { return images_; }  // uint8 [N, C, H, W]
  const Tensor& labels() const { return labels_; }  // int64 [N]

 protected:
  TensorDataset() = default;  // for subclasses that load their tensors first
  void set_tensors(Tensor images, Tensor labels);

 private:
  Tensor images_, labels_;
};

/// The examples of `base` at `indices` (in that order), like
/// torch.utils.data.Subset: e.g. the first 1,000 training digits.
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices);

  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Shape image_shape() const override { return base_->image_shape(); }
  Example get(int64_t index) const override;
  int64_t read_into(int64_t index, uint8_t* pixels) const override;

 private:
  int64_t base_index(int64_t index) const;
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> indices_;
};

/// Indices first..first+count-1, for Subset.
std::vector<int64_t> index_range(int64_t first, int64_t count);

}  // namespace ember::data
