// DataLoader: turns a Dataset into batches, as torch.utils.data.DataLoader.
//
//   auto train = std::make_shared<MnistDataset>("datasets/mnist-digits", Split::Train);
//   DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 42,
//                             .normalize = Normalize::mnist_digits(),
//                             .random_shift = RandomShift{2}});
//   for (int64_t e = start_epoch; e < epochs; ++e)
//     for (Batch& b : loader.epoch(e)) { ... b.images, b.labels ... }
//
// CIFAR-10 with torchvision's usual augmentation, RandomCrop(32, padding=4)
// then RandomHorizontalFlip (transforms.h), on the training split only:
//
//   auto cifar = std::make_shared<CifarDataset>("datasets/cifar-10-batches-bin", Split::Train);
//   DataLoader loader(cifar, {.batch_size = 128, .shuffle = true, .seed = 42,
//                             .normalize = Normalize::cifar10(),
//                             .random_crop = RandomCrop{32, 4}, .random_flip = true});
//
// Note [DataLoader determinism]
// The batches of epoch e are a function of (dataset, options, e) only: the
// order is shuffled_indices(N, seed, e) (or 0..N-1 without shuffle), cut
// into batch_size slices (the last one shorter, or dropped with drop_last),
// and each example's augmentation is drawn from (seed, e, dataset index);
// see Note [Data randomness] in random.h. Epochs are named, not counted, so
// resuming at epoch e reproduces it exactly, whatever ran before, and the
// prefetch thread changes timing only, never content.
//
// Note [Distributed sampling]
// With options.distributed = {rank, num_replicas}, each of num_replicas
// processes (ranks) loads its own shard of every epoch, as PyTorch's
// DistributedSampler(num_replicas, rank, shuffle, seed, drop_last) feeding a
// DataLoader(batch_size, drop_last):
//   - the epoch's order (the seeded permutation, or 0..N-1) is made a
//     multiple of num_replicas: padded by repeating its head (even = true,
//     without drop_last), or cut to one (with drop_last);
//   - rank r takes positions r, r + R, r + 2R, ... of it;
//   - batches of batch_size are cut from that shard (drop_last drops a short
//     last one).
// So global step k on R ranks with batch b sees the positions
// [k*R*b, (k+1)*R*b) of the order, the examples one rank with batch R*b
// sees at step k. With even = false nothing is padded or cut, and shards
// differ by at most one example (for evaluation, where sums and counts are
// all-reduced). Augmentation depends on (seed, epoch, dataset index) only,
// so an example is transformed alike on every rank count.
//
// Note [DataLoader threading]
// epoch(e) returns an Epoch, which owns one background thread (when
// prefetch > 0) that builds batches in order and puts them in a bounded
// queue of `prefetch` batches; it blocks while the queue is full, so memory
// stays bounded however slow the consumer is. The training loop takes
// batches from the queue, overlapping batch building with compute.
//   - Shutdown: destroying the Epoch (e.g. `break` out of the range-for)
//     sets a stop flag, wakes the worker and joins it; the worker checks the
//     flag between batches, so this waits for at most one batch build.
//   - The Epoch holds the dataset and options by shared_ptr, so destroying
//     the DataLoader mid-epoch is safe too: the Epoch runs to its end.
//   - An exception in the worker (a bad index, a failing custom Dataset) is
//     caught, queued in place of the batch, and rethrown to the consumer
//     when it reaches that batch; the epoch then ends.
//   - prefetch = 0 builds each batch on the consumer's thread (handy in a
//     debugger); results are identical.
//
// Note [Pinned batches]
// With pin_memory, batches are built in page-locked host memory from the
// CUDA backend (pinned_host_allocator in core/backend.h), which the GPU
// reads directly: batch.images.to("cuda") is then one asynchronous copy on
// the device's stream, with no staging copy on the host. Batches that are
// freed are reused only once their copies are done. Without a CUDA device
// (or before the CUDA backend is registered, i.e. before any op has run)
// batches use ordinary memory; contents are the same either way.
#pragma once

#include <iterator>
#include <memory>
#include <optional>
#include <vector>

#include "ember/data/dataset.h"
#include "ember/data/transforms.h"

namespace ember::data {

// This process's part in distributed training: Note [Distributed sampling].
struct DistributedSampling {
  int64_t rank = 0;          // 0 .. num_replicas - 1
  int64_t num_replicas = 1;  // the world size
  bool even = true;          // equal shards (padded, or cut with drop_last)
};

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;
  bool drop_last = false;  // drop the last batch when it would be short
  uint64_t seed = 0;       // shuffle and augmentation (Note [Data randomness])
  std::optional<Normalize> normalize = std::nullopt;
  std::optional<RandomShift> random_shift = std::nullopt;
  std::optional<RandomCrop> random_crop = std::nullopt;  // not with random_shift; sets the batch's H, W
  bool random_flip = false;  // mirror left-right with probability 1/2
  DType dtype = DType::Float32;  // of Batch::images: Float32 or Float64
  int64_t prefetch = 2;          // batches built ahead on a thread; 0: no thread
  // Build batches in page-locked host memory, so that moving them to a GPU
  // is one asynchronous copy without staging (Note [Pinned batches]).
  bool pin_memory = false;
  // Load only this rank's shard of each epoch (Note [Distributed sampling]).
  std::optional<DistributedSampling> distributed = std::nullopt;
};

struct Batch {
  Tensor images;                 // dtype [B, C, H, W], transformed (transforms.h); H, W cropped
  Tensor labels;                 // int64 [B]
  std::vector<int64_t> indices;  // dataset index of each example
  int64_t epoch = 0;
  int64_t index = 0;             // position of this batch in its epoch
};

namespace detail {
struct LoaderCore;
}

/// One pass over the data; iterate it once (range-for or next()).
class Epoch {
 public:
  class Iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    Batch& operator*() const;
    Batch* operator->() const { return &**this; }
    Iterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const;

   private:
    friend class Epoch;
    explicit Iterator(Epoch* epoch) : epoch_(epoch) {}
    Epoch* epoch_;
  };

  Epoch(Epoch&&) noexcept;
  Epoch& operator=(Epoch&&) noexcept;
  ~Epoch();  // stops and joins the prefetch thread

  Iterator begin();
  std::default_sentinel_t end() const { return {}; }
  /// The next batch, or nullopt after the last one.
  std::optional<Batch> next();

  int64_t epoch() const;
  int64_t size() const;  // batches in this epoch

 private:
  friend class DataLoader;
  struct State;
  explicit Epoch(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class DataLoader {
 public:
  /// Throws ValueError for a bad batch size, prefetch, dtype, Normalize,
  /// shift or crop (one larger than the padded image, or with a shift).
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  ~DataLoader();
  DataLoader(const DataLoader&) = default;
  DataLoader& operator=(const DataLoader&) = default;

  /// Starts epoch e (a number in [0, 2^32)): see Note [DataLoader determinism].
  /// With first_batch = k, the epoch starts at its batch k, the same batch a
  /// full pass yields k-th, and the first k are never built: how a run
  /// stopped mid-epoch resumes (IndexError unless 0 <= k <= num_batches()).
  Epoch epoch(int64_t e, int64_t first_batch = 0) const;

  /// Dataset indices in the order epoch e visits them (this rank's shard
  /// with options.distributed).
  std::vector<int64_t> order(int64_t epoch) const;
  /// Batches per epoch (of this rank's shard with options.distributed).
  int64_t num_batches() const;
  /// Builds the batch of these dataset indices with the loader's transforms
  /// as in epoch `epoch`, on the calling thread (e.g. to replay a batch order
  /// recorded elsewhere).
  Batch make_batch(const std::vector<int64_t>& indices, int64_t epoch = 0) const;

  const Dataset& dataset() const;
  const DataLoaderOptions& options() const;

 private:
  std::shared_ptr<const detail::LoaderCore> core_;
};

}  // namespace ember::data
