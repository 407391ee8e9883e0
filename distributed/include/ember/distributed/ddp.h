// DistributedDataParallel: torch.nn.parallel.DistributedDataParallel for
// Ember (docs/distributed.md). Each rank holds a whole replica of the model
// and trains it on its own shard of every batch; after backward every
// parameter's gradient is the mean over the ranks, so every replica takes
// the same optimizer step and the replicas stay equal.
//
//   auto ddp = std::make_shared<distributed::DistributedDataParallel>(model);
//   Tensor loss = cross_entropy((*ddp)(x), y);
//   loss.backward();   // gradients averaged across ranks as backward runs
//   opt.step();
//
// At construction, rank 0's parameters and buffers are broadcast to every
// rank. Batch norm normalises with each rank's own batch statistics (no
// SyncBatchNorm), and, as PyTorch's default broadcast_buffers=True, every
// training forward first broadcasts rank 0's buffers (the running
// statistics), so the replicas' buffers follow rank 0's and never drift
// apart for good. Gradients are reduced in buckets of about bucket_cap_mb,
// parameters taken in reverse order of registration (the order backward
// reaches them); a bucket's all-reduce starts as soon as its last gradient
// is accumulated, while backward goes on computing the next ones
// (Note [DDP's reducer] in distributed/src/ddp.cpp; docs/distributed.md).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/nn/module.h"

namespace ember::distributed {

struct DDPOptions {
  double bucket_cap_mb = 25;  // PyTorch's default (MiB)
  // Rank 0's buffers to every rank at the start of each forward that will
  // be reduced (grad mode on, no NoSync), as PyTorch's default.
  bool broadcast_buffers = true;
  // Called on this rank just before bucket `bucket`'s all-reduce starts,
  // with its flat buffer holding the bucket's local gradients (to observe
  // the overlap in tests and profiles; empty: nothing is called).
  std::function<void(int64_t bucket, const Tensor& flat)> on_bucket_launch = nullptr;
};

class DistributedDataParallel : public nn::Module {
 public:
  explicit DistributedDataParallel(std::shared_ptr<nn::Module> module, DDPOptions options = {});
  ~DistributedDataParallel() override;
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "DistributedDataParallel"; }

  nn::Module& module() { return *module_; }

  // While a NoSync lives, backward accumulates gradients locally without
  // communicating (gradient accumulation); the first backward after it
  // reduces everything accumulated. As in PyTorch, the forward decides: the
  // backward of a forward run under a NoSync does not communicate.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool was_;
  };
  NoSync no_sync() { return NoSync(*this); }

  // Seconds this rank spent blocked waiting for all-reduces to finish in
  // the last backward, and the number of buckets (for the figures).
  double last_wait_seconds() const;
  // Rank 0's buffers to every rank now (one broadcast per dtype and
  // device); what a reducing forward does first with broadcast_buffers.
  // Call it before evaluating, so that every rank evaluates the model rank
  // 0 saves.
  void sync_buffers();
  int64_t num_buckets() const;
  // The parameters of each bucket, by their names in the wrapped module, in
  // bucket (launch) order.
  std::vector<std::vector<std::string>> bucket_parameter_names() const;

 private:
  struct Reducer;
  std::shared_ptr<nn::Module> module_;
  std::unique_ptr<Reducer> reducer_;
  bool sync_ = true;
  bool broadcast_buffers_ = true;
};

}  // namespace ember::distributed
