// DistributedDataParallel and its reducer: gradients averaged across ranks
// in buckets, each launched while backward is still running.
//
// Note [DDP's reducer]
// - Buckets are fixed at construction: the parameters that require grad,
//   in reverse registration order (roughly the order backward reaches
//   them), cut into buckets of about bucket_cap_mb, one dtype and device per
//   bucket. Every rank computes the same buckets from the same model.
// - Each parameter has a post-accumulate-grad hook (Note [Backward hooks],
//   autograd/hooks.h). When it fires, its .grad is complete for this pass;
//   the last one of a bucket copies the bucket's grads into its flat buffer
//   and starts all_reduce_async(flat, Average). Buckets start in index
//   order only (a ready bucket waits for the ones before it), so that all
//   ranks issue their collectives in the same order, whatever order their
//   engines ran the nodes in.
// - The first hook of a pass queues a final callback. It runs when the pass
//   has finished, waits for every bucket (the seconds blocked are
//   last_wait_seconds()) and copies the means back into each .grad, so they
//   are there when backward() returns. The profiler shows both ends as
//   "nodes": DDPBucketLaunch and DDPAllReduceWait.
// - A parameter that got no gradient in a pass leaves its bucket
//   unlaunched; the callback then throws naming it (PyTorch's
//   find_unused_parameters=False), after waiting for the buckets launched.
// - forward() arms the hooks for the coming backward (one: the callback
//   disarms them, so a second backward over a retained graph does not
//   communicate, as in PyTorch), unless a NoSync lives: then the hooks do nothing and .grad keeps accumulating locally;
//   the next armed pass reduces the whole .grad, earlier micro-batches
//   included, as PyTorch does.
#include "ember/distributed/ddp.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_set>

#include "ember/autograd/hooks.h"
#include "ember/core/grad_mode.h"
#include "ember/core/profiler.h"
#include "ember/distributed/distributed.h"

namespace ember::distributed {

namespace {

// Broadcasts t from rank 0 in place (through a contiguous copy if needed).
void broadcast_in_place(const Tensor& t) {
  NoGradGuard no_grad;
  if (t.is_contiguous()) {
    broadcast(t, 0);
    return;
  }
  Tensor c = t.contiguous();
  broadcast(c, 0);
  t.detach().copy_(c);
}

}  // namespace

struct DistributedDataParallel::Reducer {
  struct Bucket {
    std::vector<size_t> params;    // indices into Reducer::params
    std::vector<int64_t> offsets;  // of each param's grad in flat
    int64_t numel = 0;
    DType dtype = kDefaultFloat;
    Device device = kCPU;
    Tensor flat;                   // (numel,), allocated at first launch
    size_t pending = 0;            // params not yet ready in this pass
    std::shared_ptr<Work> work;    // set when launched
  };

  std::vector<Tensor> params;
  std::vector<std::string> names;
  std::vector<size_t> bucket_of;  // param -> bucket
  std::vector<char> ready;        // param got its gradient in this pass
  std::vector<Bucket> buckets;
  std::vector<autograd::HookHandle> hooks;
  std::function<void(int64_t, const Tensor&)> on_launch;
  size_t next_launch = 0;  // INVARIANT: buckets [0, next_launch) are launched in this pass
  bool armed = false;
  bool callback_queued = false;
  double last_wait = 0;

  Reducer(const nn::Module& module, const DDPOptions& options) : on_launch(options.on_bucket_launch) {
    EMBER_CHECK(options.bucket_cap_mb > 0, ValueError, "DistributedDataParallel: bucket_cap_mb must be positive, got ",
                options.bucket_cap_mb);
    std::unordered_set<const TensorImpl*> seen;  // a shared parameter is reduced once
    for (const auto& [name, p] : module.named_parameters())
      if (p.requires_grad() && seen.insert(p.impl()).second) {
        params.push_back(p);
        names.push_back(name);
      }
    assign_buckets(static_cast<int64_t>(options.bucket_cap_mb * 1024 * 1024));
    ready.assign(params.size(), 0);
    reset();
    for (size_t i = 0; i < params.size(); ++i)
      hooks.push_back(autograd::register_post_accumulate_grad_hook(params[i], [this, i](const Tensor&) { mark_ready(i); }));
  }

  ~Reducer() {
    for (auto& h : hooks) h.remove();
  }

  // Reverse registration order; an open bucket per (dtype, device), closed
  // once it holds cap_bytes or more; buckets ordered by their first param.
  void assign_buckets(int64_t cap_bytes) {
    std::map<std::pair<int, std::string>, Bucket> open;
    std::vector<Bucket> closed;
    for (size_t k = params.size(); k-- > 0;) {
      const Tensor& p = params[k];
      auto key = std::make_pair(static_cast<int>(p.dtype()), p.device().str());
      Bucket& b = open[key];
      b.dtype = p.dtype();
      b.device = p.device();
      b.params.push_back(k);
      b.offsets.push_back(b.numel);
      b.numel += p.numel();
      if (b.numel * static_cast<int64_t>(dtype_size(b.dtype)) >= cap_bytes) {
        closed.push_back(std::move(b));
        open.erase(key);
      }
    }
    for (auto& [key, b] : open) closed.push_back(std::move(b));
    // params[k] comes earlier in reverse order the larger k is.
    std::sort(closed.begin(), closed.end(),
              [](const Bucket& a, const Bucket& b) { return a.params.front() > b.params.front(); });
    buckets = std::move(closed);
    bucket_of.assign(params.size(), 0);
    for (size_t b = 0; b < buckets.size(); ++b)
      for (size_t i : buckets[b].params) bucket_of[i] = b;
  }

  // Ready for a new pass: nothing marked, nothing launched. A bucket whose
  // all-reduce may still be in flight (a backward that threw, caught by the
  // caller) gets a fresh buffer: the collective keeps the old one alive and
  // may still write into it.
  void reset() {
    std::fill(ready.begin(), ready.end(), 0);
    for (Bucket& b : buckets) {
      b.pending = b.params.size();
      if (b.work) {
        bool finished = false;
        try {
          finished = b.work->done();
        } catch (const Error&) {  // it failed: the group's error was reported where it was waited for
        }
        if (!finished) b.flat = Tensor();
      }
      b.work.reset();
    }
    next_launch = 0;
    callback_queued = false;
  }

  void prepare_for_backward(bool sync) {
    reset();
    armed = sync;
  }

  void mark_ready(size_t i) {
    if (!armed) return;  // no_sync, or no forward through the DDP
    EMBER_CHECK(!ready[i], InternalError, "DistributedDataParallel: parameter ", names[i],
                " was marked ready twice in one backward pass");
    ready[i] = 1;
    if (!callback_queued) {
      autograd::queue_callback([this] { finalize(); });
      callback_queued = true;
    }
    --buckets[bucket_of[i]].pending;
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) launch(next_launch++);
  }

  void launch(size_t index) {
    profiler::Scope scope(profiler::Kind::Node, "DDPBucketLaunch");  // the copy in, and starting the collective
    NoGradGuard no_grad;
    Bucket& b = buckets[index];
    if (!b.flat.defined()) b.flat = make_empty({b.numel}, b.dtype, b.device);
    for (size_t j = 0; j < b.params.size(); ++j) {
      const Tensor& p = params[b.params[j]];
      b.flat.narrow(0, b.offsets[j], p.numel()).view(p.shape()).copy_(p.grad());
    }
    if (on_launch) on_launch(static_cast<int64_t>(index), b.flat);
    b.work = all_reduce_async(b.flat, ReduceOp::Average);
  }

  // The final callback of an armed pass.
  void finalize() {
    struct ResetAtExit {
      Reducer* r;
      ~ResetAtExit() {  // however this ends: the next forward arms the next pass (PyTorch too)
        r->reset();
        r->armed = false;
      }
    } reset_at_exit{this};
    const auto start = std::chrono::steady_clock::now();
    {
      profiler::Scope scope(profiler::Kind::Node, "DDPAllReduceWait");
      for (Bucket& b : buckets)
        if (b.work) b.work->wait();
    }
    last_wait = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string unused;
    for (size_t i = 0; i < params.size(); ++i)
      if (!ready[i]) unused += (unused.empty() ? "" : ", ") + names[i];
    EMBER_CHECK(unused.empty(), AutogradError, "DistributedDataParallel: parameters that require grad got no "
                "gradient in this backward pass, so their buckets could not be reduced: ", unused,
                ". Every rank must reduce the same buckets; make the loss depend on them, or set requires_grad_(false) "
                "on them before wrapping the module");
    NoGradGuard no_grad;
    for (Bucket& b : buckets)
      for (size_t j = 0; j < b.params.size(); ++j) {
        const Tensor& p = params[b.params[j]];
        p.grad().copy_(b.flat.narrow(0, b.offsets[j], p.numel()).view(p.shape()));
      }
  }
};

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module, DDPOptions options)
    : module_(std::move(module)) {
  EMBER_CHECK(module_ != nullptr, ValueError, "DistributedDataParallel: the module is null");
  register_module("module", module_);
  for (const auto& [name, t] : module_->state_dict()) broadcast_in_place(t);
  broadcast_buffers_ = options.broadcast_buffers;
  reducer_ = std::make_unique<Reducer>(*module_, options);
}

DistributedDataParallel::~DistributedDataParallel() = default;

Tensor DistributedDataParallel::forward(const Tensor& x) {
  const bool reduces = sync_ && GradMode::is_enabled();
  if (reduces && broadcast_buffers_) sync_buffers();
  reducer_->prepare_for_backward(reduces);
  return (*module_)(x);
}

void DistributedDataParallel::sync_buffers() {
  if (world_size() == 1) return;
  // One broadcast per (dtype, device): the buffers flattened end to end.
  NoGradGuard no_grad;
  std::map<std::string, std::vector<Tensor>> groups;
  for (const auto& [name, b] : module_->named_buffers())
    groups[std::string(dtype_name(b.dtype())) + "@" + b.device().str()].push_back(b);
  for (auto& [key, buffers] : groups) {
    std::vector<Tensor> flat_parts;
    for (const Tensor& b : buffers) flat_parts.push_back(b.detach().reshape({-1}));
    Tensor flat = cat(flat_parts, 0).contiguous();
    broadcast(flat, 0);
    int64_t at = 0;
    for (const Tensor& b : buffers) {
      b.detach().copy_(flat.narrow(0, at, b.numel()).view(b.shape()));
      at += b.numel();
    }
  }
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp) : ddp_(ddp), was_(ddp.sync_) {
  ddp_.sync_ = false;
}
DistributedDataParallel::NoSync::~NoSync() { ddp_.sync_ = was_; }

double DistributedDataParallel::last_wait_seconds() const { return reducer_->last_wait; }
int64_t DistributedDataParallel::num_buckets() const { return static_cast<int64_t>(reducer_->buckets.size()); }

std::vector<std::vector<std::string>> DistributedDataParallel::bucket_parameter_names() const {
  std::vector<std::vector<std::string>> out;
  for (const auto& b : reducer_->buckets) {
    out.emplace_back();
    for (size_t i : b.params) out.back().push_back(reducer_->names[i]);
  }
  return out;
}

}  // namespace ember::distributed
