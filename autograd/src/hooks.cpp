// Post-accumulate-grad hooks on leaves: Note [Backward hooks] in
// autograd/hooks.h. (Final callbacks live with the engine, which owns the
// running pass: engine.cpp.)
#include "ember/autograd/hooks.h"

#include <atomic>
#include <vector>

#include "ember/autograd/meta.h"

namespace ember::autograd {

namespace {
std::atomic<uint64_t> next_hook_id{1};
}  // namespace

HookHandle register_post_accumulate_grad_hook(const Tensor& leaf, PostAccumulateGradHook hook) {
  EMBER_CHECK(leaf.defined(), ValueError, "register_post_accumulate_grad_hook: the tensor is undefined");
  EMBER_CHECK(leaf.is_leaf() && leaf.requires_grad(), AutogradError,
              "register_post_accumulate_grad_hook: only a leaf tensor that requires grad accumulates into .grad (this "
              "one is ", leaf.is_leaf() ? "a leaf that does not require grad" : "not a leaf", ")");
  EMBER_CHECK(static_cast<bool>(hook), ValueError, "register_post_accumulate_grad_hook: the hook is empty");
  const uint64_t id = next_hook_id.fetch_add(1);
  autograd_meta(leaf).post_accumulate_grad_hooks.emplace_back(id, std::move(hook));
  return HookHandle(leaf.impl()->autograd, id);
}

void HookHandle::remove() {
  std::shared_ptr<AutogradMeta> meta = meta_.lock();
  meta_.reset();
  if (!meta) return;
  auto& hooks = meta->post_accumulate_grad_hooks;
  std::erase_if(hooks, [&](const auto& h) { return h.first == id_; });
}

namespace detail {

void run_post_accumulate_grad_hooks(const Tensor& leaf, AutogradMeta& meta) {
  if (meta.post_accumulate_grad_hooks.empty()) return;
  // A copy: a hook may remove itself (or register another, which then
  // first runs in the next pass).
  const auto hooks = meta.post_accumulate_grad_hooks;
  for (const auto& [id, hook] : hooks) hook(leaf);
}

}  // namespace detail

}  // namespace ember::autograd
