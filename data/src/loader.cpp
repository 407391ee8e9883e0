// DataLoader and Epoch (loader.h): batch building with the transforms, and
// the bounded prefetch queue of Note [DataLoader threading].
#include "ember/data/loader.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "ember/core/backend.h"
#include "ember/data/random.h"

namespace ember::data {

namespace detail {

// Everything a batch depends on, immutable after construction and shared by
// the loader and its running epochs.
struct LoaderCore {
  std::shared_ptr<const Dataset> dataset;
  DataLoaderOptions options;
  Shape in_chw;  // the dataset's image shape [C, H, W]
  Shape chw;     // the batch's image shape [C, H, W]: in_chw, or the crop's
  std::vector<std::array<float, 256>> table_f32;
  std::vector<std::array<double, 256>> table_f64;

  // Examples per epoch on this rank: Note [Distributed sampling].
  int64_t shard_size() const {
    const int64_t n = dataset->size();
    if (!options.distributed) return n;
    const auto& d = *options.distributed;
    const int64_t r = d.num_replicas;
    if (!d.even) return (n - d.rank + r - 1) / r;
    return options.drop_last ? n / r : (n + r - 1) / r;
  }

  int64_t num_batches() const {
    const int64_t n = shard_size(), b = options.batch_size;
    return options.drop_last ? n / b : (n + b - 1) / b;
  }

  // This rank's positions of the epoch's whole order.
  std::vector<int64_t> shard(const std::vector<int64_t>& order) const {
    if (!options.distributed) return order;
    const auto& d = *options.distributed;
    const int64_t n = static_cast<int64_t>(order.size()), count = shard_size();
    std::vector<int64_t> out;
    out.reserve(count);
    // Position p of the padded order is order[p mod n] (the head repeated,
    // as often as needed when n < num_replicas).
    for (int64_t k = 0; k < count; ++k) out.push_back(order[(d.rank + k * d.num_replicas) % n]);
    return out;
  }

  template <typename T>
  void fill(const int64_t* idx, int64_t count, int64_t epoch, const std::vector<std::array<T, 256>>& table,
            Batch& batch) const {
    const int64_t plane = chw[1] * chw[2], per = chw[0] * plane, in_per = numel(in_chw);
    std::vector<uint8_t> pixels(static_cast<size_t>(in_per)), moved(static_cast<size_t>(per)),
        flipped(static_cast<size_t>(per));
    T* out = batch.images.data_ptr<T>();
    int64_t* labels = batch.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < count; ++i) {
      labels[i] = dataset->read_into(idx[i], pixels.data());
      const uint8_t* src = pixels.data();
      if (options.random_shift) {
        auto [dx, dy] = shift_offsets(options.seed, epoch, idx[i], options.random_shift->max_shift);
        if (dx != 0 || dy != 0) {
          shift_image(pixels.data(), moved.data(), chw, dx, dy);
          src = moved.data();
        }
      }
      if (options.random_crop) {  // then the flip, as torchvision's RandomCrop -> RandomHorizontalFlip
        const int64_t p = options.random_crop->padding;
        auto [top, left] = crop_offsets(options.seed, epoch, idx[i], in_chw[1] + 2 * p - chw[1],
                                        in_chw[2] + 2 * p - chw[2]);
        crop_image(pixels.data(), moved.data(), in_chw, options.random_crop->size, p, top, left);
        src = moved.data();
      }
      if (options.random_flip && flip_draw(options.seed, epoch, idx[i])) {
        flip_image(src, flipped.data(), chw);
        src = flipped.data();
      }
      T* dst = out + i * per;
      for (int64_t c = 0; c < chw[0]; ++c) {
        const std::array<T, 256>& lut = table[static_cast<size_t>(c)];
        for (int64_t j = c * plane; j < (c + 1) * plane; ++j) dst[j] = lut[src[j]];
      }
    }
  }

  Batch make_batch(const int64_t* idx, int64_t count, int64_t epoch, int64_t batch_index) const {
    const int64_t n = dataset->size();
    for (int64_t i = 0; i < count; ++i)  // custom datasets need not check their indices
      EMBER_CHECK(idx[i] >= 0 && idx[i] < n, IndexError, "DataLoader: index ", idx[i],
                  " is out of range for a dataset of ", n, " examples");
    Batch batch;
    // Note [Pinned batches] in loader.h
    Allocator* pinned = options.pin_memory ? pinned_host_allocator(DeviceType::CUDA) : nullptr;
    Allocator& memory = pinned ? *pinned : cpu_allocator();
    batch.images = make_empty_host({count, chw[0], chw[1], chw[2]}, options.dtype, memory);
    batch.labels = make_empty_host({count}, DType::Int64, memory);
    batch.indices.assign(idx, idx + count);
    batch.epoch = epoch;
    batch.index = batch_index;
    if (options.dtype == DType::Float32)
      fill(idx, count, epoch, table_f32, batch);
    else
      fill(idx, count, epoch, table_f64, batch);
    return batch;
  }
};

}  // namespace detail

// ---- Epoch: the consumer side and the prefetch worker ----

struct Epoch::State {
  struct Item {
    Batch batch;
    std::exception_ptr error;  // set instead of batch when building failed
  };

  std::shared_ptr<const detail::LoaderCore> core;
  int64_t epoch = 0;
  std::vector<int64_t> order;
  int64_t n_batches = 0;
  int64_t first = 0;     // the batch the epoch starts at (a resumed one skips those before)
  int64_t consumed = 0;  // batches handed to the consumer, counting the skipped ones
  bool iterating = false, failed = false;
  std::optional<Batch> current;  // the iterator's batch

  std::mutex mu;
  std::condition_variable not_full, not_empty;
  std::deque<Item> queue;  // INVARIANT: size() <= core->options.prefetch
  bool stop = false;       // guarded by mu
  std::thread worker;      // joined by ~State before the members above die

  Batch build(int64_t b) const {
    const int64_t bs = core->options.batch_size, first = b * bs;
    const int64_t count = std::min<int64_t>(bs, static_cast<int64_t>(order.size()) - first);
    return core->make_batch(order.data() + first, count, epoch, b);
  }

  void run_worker() {
    const auto capacity = static_cast<size_t>(core->options.prefetch);
    for (int64_t b = first; b < n_batches; ++b) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stop) return;
      }
      Item item;
      try {
        item.batch = build(b);
      } catch (...) {
        item.error = std::current_exception();
      }
      const bool failed_here = item.error != nullptr;
      std::unique_lock<std::mutex> lock(mu);
      not_full.wait(lock, [&] { return stop || queue.size() < capacity; });
      if (stop) return;
      queue.push_back(std::move(item));
      not_empty.notify_one();
      if (failed_here) return;
    }
  }

  ~State() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    not_full.notify_all();
    if (worker.joinable()) worker.join();
  }
};

Epoch::Epoch(std::unique_ptr<State> state) : state_(std::move(state)) {}
Epoch::Epoch(Epoch&&) noexcept = default;
Epoch& Epoch::operator=(Epoch&&) noexcept = default;
Epoch::~Epoch() = default;

int64_t Epoch::epoch() const { return state_->epoch; }
int64_t Epoch::size() const { return state_->n_batches; }

std::optional<Batch> Epoch::next() {
  EMBER_CHECK(state_ != nullptr, ValueError, "Epoch::next: this Epoch was moved from");
  State& s = *state_;
  if (s.failed || s.consumed >= s.n_batches) return std::nullopt;
  State::Item item;
  if (!s.worker.joinable()) {  // prefetch = 0: build here
    try {
      item.batch = s.build(s.consumed);
    } catch (...) {
      s.failed = true;
      throw;
    }
  } else {
    std::unique_lock<std::mutex> lock(s.mu);
    s.not_empty.wait(lock, [&] { return !s.queue.empty(); });
    item = std::move(s.queue.front());
    s.queue.pop_front();
    s.not_full.notify_one();
  }
  if (item.error) {
    s.failed = true;
    std::rethrow_exception(item.error);
  }
  ++s.consumed;
  return std::move(item.batch);
}

Epoch::Iterator Epoch::begin() {
  EMBER_CHECK(state_ != nullptr, ValueError, "Epoch::begin: this Epoch was moved from");
  EMBER_CHECK(!state_->iterating && state_->consumed == state_->first, ValueError, "Epoch ", state_->epoch,
              ": an Epoch is iterated once; call loader.epoch(", state_->epoch, ") again for a new pass");
  state_->iterating = true;
  state_->current = next();
  return Iterator(this);
}

Batch& Epoch::Iterator::operator*() const {
  EMBER_CHECK(epoch_->state_->current.has_value(), IndexError, "Epoch iterator: dereferenced past the end");
  return *epoch_->state_->current;
}

Epoch::Iterator& Epoch::Iterator::operator++() {
  epoch_->state_->current.reset();
  epoch_->state_->current = epoch_->next();
  return *this;
}

bool Epoch::Iterator::operator==(std::default_sentinel_t) const { return !epoch_->state_->current.has_value(); }

// ---- DataLoader ----

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options) {
  EMBER_CHECK(dataset != nullptr, ValueError, "DataLoader: dataset is null");
  EMBER_CHECK(options.batch_size > 0, ValueError, "DataLoader: batch_size must be positive, got ",
              options.batch_size);
  EMBER_CHECK(options.prefetch >= 0, ValueError, "DataLoader: prefetch must be >= 0, got ", options.prefetch);
  EMBER_CHECK(options.dtype == DType::Float32 || options.dtype == DType::Float64, ValueError,
              "DataLoader: images can be float32 or float64, not ", dtype_name(options.dtype));
  if (options.random_shift)
    EMBER_CHECK(options.random_shift->max_shift >= 0 && options.random_shift->max_shift < 1024, ValueError,
                "DataLoader: random shift must be in [0, 1024), got ", options.random_shift->max_shift);
  if (options.random_crop)
    EMBER_CHECK(options.random_crop->padding >= 0 && options.random_crop->padding < 1024, ValueError,
                "DataLoader: random crop padding must be in [0, 1024), got ", options.random_crop->padding);
  EMBER_CHECK(!(options.random_shift && options.random_crop), ValueError,
              "DataLoader: random_shift and random_crop are two ways to move an image; set one of them");
  if (options.distributed) {
    const DistributedSampling& d = *options.distributed;
    EMBER_CHECK(d.num_replicas >= 1, ValueError, "DataLoader: distributed.num_replicas must be positive, got ",
                d.num_replicas);
    EMBER_CHECK(d.rank >= 0 && d.rank < d.num_replicas, ValueError, "DataLoader: distributed.rank ", d.rank,
                " must be in [0, ", d.num_replicas, "), the number of replicas");
  }
  auto core = std::make_shared<detail::LoaderCore>();
  core->in_chw = core->chw = dataset->image_shape();
  EMBER_CHECK(core->chw.size() == 3, ValueError, "DataLoader: images must be [C, H, W], dataset gives ",
              shape_str(core->chw));
  if (options.random_crop)  // ValueError when the crop does not fit
    core->chw = crop_shape(core->in_chw, options.random_crop->size, options.random_crop->padding);
  const Normalize* normalize = options.normalize ? &*options.normalize : nullptr;
  if (options.dtype == DType::Float32)
    core->table_f32 = pixel_table<float>(normalize, core->chw[0]);
  else
    core->table_f64 = pixel_table<double>(normalize, core->chw[0]);
  core->dataset = std::move(dataset);
  core->options = std::move(options);
  core_ = std::move(core);
}

DataLoader::~DataLoader() = default;

const Dataset& DataLoader::dataset() const { return *core_->dataset; }
const DataLoaderOptions& DataLoader::options() const { return core_->options; }
int64_t DataLoader::num_batches() const { return core_->num_batches(); }

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  EMBER_CHECK(epoch >= 0 && epoch < (int64_t{1} << 32), ValueError, "DataLoader: epoch ", epoch,
              " must be in [0, 2^32)");
  const int64_t n = core_->dataset->size();
  return core_->shard(core_->options.shuffle ? shuffled_indices(n, core_->options.seed, epoch) : index_range(0, n));
}

Batch DataLoader::make_batch(const std::vector<int64_t>& indices, int64_t epoch) const {
  return core_->make_batch(indices.data(), static_cast<int64_t>(indices.size()), epoch, 0);
}

Epoch DataLoader::epoch(int64_t e, int64_t first_batch) const {
  auto state = std::make_unique<Epoch::State>();
  state->core = core_;
  state->epoch = e;
  state->order = order(e);
  state->n_batches = core_->num_batches();
  EMBER_CHECK(first_batch >= 0 && first_batch <= state->n_batches, IndexError, "DataLoader::epoch(", e, ", ",
              first_batch, "): the first batch must be in [0, ", state->n_batches, "], the epoch's batch count");
  state->first = state->consumed = first_batch;
  if (core_->options.prefetch > 0 && state->n_batches > first_batch) {
    Epoch::State* s = state.get();
    s->worker = std::thread([s] { s->run_worker(); });
  }
  return Epoch(std::move(state));
}

}  // namespace ember::data
