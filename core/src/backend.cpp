// The Backend base class (default entries that fail loudly) and the
// registry of implementations; see Note [Backend registry] in backend.h.
#include "ember/core/backend.h"

#include <atomic>
#include <mutex>

#include "ember/core/error.h"

namespace ember {

const char* primitive_name(Primitive p) {
  static constexpr std::array<const char*, kNumPrimitives> names = {
      "copy", "copy_from_host", "copy_to_host", "fill", "arange",
      "binary", "unary", "where", "reduce", "matmul", "softmax",
      "index_select", "index_add", "gather", "scatter_add",
      "im2col", "col2im",
      "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
      "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
      "batch_norm_forward", "batch_norm_backward",
      "cross_entropy_forward", "cross_entropy_backward",
      "random_uniform", "random_normal", "dropout_mask",
      "sgd_update", "adam_update",
      "synchronize"};
  static_assert(names[kNumPrimitives - 1] != nullptr, "a Primitive has no name: add it to the list above");
  return names[static_cast<int>(p)];
}

namespace {

const char* device_type_name(DeviceType t) { return t == DeviceType::CPU ? "cpu" : "cuda"; }

// Per device type: the registered backends in order, the active one, and
// for each primitive the backend that runs it (resolved once per selection,
// so a dispatch is one array read).
struct DeviceBackends {
  std::vector<Backend*> all;
  Backend* active = nullptr;
  std::array<std::atomic<Backend*>, kNumPrimitives> resolved{};
};

struct Registry {
  std::mutex mutex;
  std::array<DeviceBackends, kNumDeviceTypes> devices;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: kernels may run during static destruction
  return *r;
}

Backend* find(const DeviceBackends& d, const std::string& name) {
  for (Backend* b : d.all)
    if (b->name() == name) return b;
  return nullptr;
}

std::string names_of(const DeviceBackends& d) {
  std::string s;
  for (Backend* b : d.all) s += (s.empty() ? "" : ", ") + b->name();
  return s.empty() ? "none" : s;
}

// Walks the chain from `b` to the first backend that supports p (null if none).
Backend* resolve(const DeviceBackends& d, Backend* b, Primitive p) {
  for (int hops = 0; b && hops <= static_cast<int>(d.all.size()); ++hops) {
    if (b->supports(p)) return b;
    b = b->base_name().empty() ? nullptr : find(d, b->base_name());
  }
  return nullptr;
}

// Called with the mutex held.
void activate(DeviceBackends& d, Backend* b) {
  d.active = b;
  for (int p = 0; p < kNumPrimitives; ++p) d.resolved[p] = resolve(d, b, static_cast<Primitive>(p));
}

DeviceBackends& devices_of(DeviceType type) { return registry().devices[static_cast<int>(type)]; }

[[noreturn]] void no_backend(DeviceType type) {
  if (type == DeviceType::CUDA)
    throw DeviceError("CUDA was requested but this build of Ember has no CUDA backend (configure with EMBER_CUDA=ON, or "
                      "EMBER_CUDA=EMULATE for the SIMT emulator)");
  throw DeviceError("no backend registered for the CPU (ember::kernels::register_backends was not called)");
}

}  // namespace

// ---- Backend ----

Backend::Backend(DeviceType device, std::string name, std::string base, std::vector<Primitive> own)
    : device_(device), name_(std::move(name)), base_(std::move(base)) {
  for (Primitive p : own) own_[static_cast<int>(p)] = true;
}

std::string Backend::full_name() const { return std::string(device_type_name(device_)) + ":" + name_; }

void Backend::missing(Primitive p) const {
  throw InternalError(detail::concat("backend ", full_name(), " was asked for ", primitive_name(p),
                                     (supports(p) ? ", which it claims but does not implement"
                                                  : ", which is not its own (prim:: should have fallen through)")));
}

Allocator& Backend::allocator(int device_index) {
  EMBER_CHECK(!base_.empty(), InternalError, "root backend ", full_name(), " has no allocator");
  return device_backend(device_).allocator(device_index);
}
Allocator* Backend::pinned_allocator() { return base_.empty() ? nullptr : device_backend(device_).pinned_allocator(); }
int Backend::device_count() const {
  EMBER_CHECK(!base_.empty(), InternalError, "root backend ", full_name(), " has no device count");
  return device_backend(device_).device_count();
}

void Backend::copy(const ExecContext&, const TensorView&, const TensorView&) { missing(Primitive::Copy); }
void Backend::copy_from_host(const ExecContext&, void*, const void*, size_t) { missing(Primitive::CopyFromHost); }
void Backend::copy_to_host(const ExecContext&, void*, const void*, size_t) { missing(Primitive::CopyToHost); }
void Backend::fill(const ExecContext&, const TensorView&, Scalar) { missing(Primitive::Fill); }
void Backend::arange(const ExecContext&, const TensorView&, double, double) { missing(Primitive::Arange); }
void Backend::binary(const ExecContext&, BinaryOp, const TensorView&, const TensorView&, const TensorView&) {
  missing(Primitive::Binary);
}
void Backend::unary(const ExecContext&, UnaryOp, const TensorView&, const TensorView&) { missing(Primitive::Unary); }
void Backend::where(const ExecContext&, const TensorView&, const TensorView&, const TensorView&, const TensorView&) {
  missing(Primitive::Where);
}
void Backend::reduce(const ExecContext&, ReduceOp, const TensorView&, const TensorView&) { missing(Primitive::Reduce); }
void Backend::matmul(const ExecContext&, const TensorView&, const TensorView&, const TensorView&) {
  missing(Primitive::Matmul);
}
void Backend::softmax(const ExecContext&, const TensorView&, const TensorView&, int64_t, bool) {
  missing(Primitive::Softmax);
}
void Backend::index_select(const ExecContext&, const TensorView&, const TensorView&, int64_t, const TensorView&) {
  missing(Primitive::IndexSelect);
}
void Backend::index_add(const ExecContext&, const TensorView&, int64_t, const TensorView&, const TensorView&) {
  missing(Primitive::IndexAdd);
}
void Backend::gather(const ExecContext&, const TensorView&, const TensorView&, int64_t, const TensorView&) {
  missing(Primitive::Gather);
}
void Backend::scatter_add(const ExecContext&, const TensorView&, int64_t, const TensorView&, const TensorView&) {
  missing(Primitive::ScatterAdd);
}
void Backend::im2col(const ExecContext&, const TensorView&, const TensorView&, const WindowGeometry&) {
  missing(Primitive::Im2col);
}
void Backend::col2im(const ExecContext&, const TensorView&, const TensorView&, const WindowGeometry&) {
  missing(Primitive::Col2im);
}
void Backend::conv2d_forward(const ExecContext&, const TensorView&, const TensorView&, const TensorView&,
                             const OptionalView&, const WindowGeometry&, int64_t) {
  missing(Primitive::Conv2dForward);
}
void Backend::conv2d_backward_input(const ExecContext&, const TensorView&, const TensorView&, const TensorView&,
                                    const WindowGeometry&, int64_t) {
  missing(Primitive::Conv2dBackwardInput);
}
void Backend::conv2d_backward_weight(const ExecContext&, const TensorView&, const OptionalView&, const TensorView&,
                                     const TensorView&, const WindowGeometry&, int64_t) {
  missing(Primitive::Conv2dBackwardWeight);
}
void Backend::max_pool2d_forward(const ExecContext&, const TensorView&, const TensorView&, const TensorView&,
                                 const WindowGeometry&) {
  missing(Primitive::MaxPool2dForward);
}
void Backend::max_pool2d_backward(const ExecContext&, const TensorView&, const TensorView&, const TensorView&,
                                  const WindowGeometry&) {
  missing(Primitive::MaxPool2dBackward);
}
void Backend::avg_pool2d_forward(const ExecContext&, const TensorView&, const TensorView&, const WindowGeometry&) {
  missing(Primitive::AvgPool2dForward);
}
void Backend::avg_pool2d_backward(const ExecContext&, const TensorView&, const TensorView&, const WindowGeometry&) {
  missing(Primitive::AvgPool2dBackward);
}
void Backend::batch_norm_forward(const ExecContext&, const TensorView&, const TensorView&, const TensorView&,
                                 const TensorView&, const OptionalView&, const OptionalView&, const OptionalView&,
                                 const OptionalView&, const BatchNormParams&) {
  missing(Primitive::BatchNormForward);
}
void Backend::batch_norm_backward(const ExecContext&, const OptionalView&, const OptionalView&, const OptionalView&,
                                  const TensorView&, const TensorView&, const OptionalView&, const TensorView&,
                                  const TensorView&, bool) {
  missing(Primitive::BatchNormBackward);
}
void Backend::cross_entropy_forward(const ExecContext&, const TensorView&, const TensorView&, const TensorView&,
                                    const TensorView&, double) {
  missing(Primitive::CrossEntropyForward);
}
void Backend::cross_entropy_backward(const ExecContext&, const TensorView&, const TensorView&, const TensorView&,
                                     const TensorView&, const TensorView&, double) {
  missing(Primitive::CrossEntropyBackward);
}
void Backend::random_uniform(const ExecContext&, const TensorView&, uint64_t, uint64_t) {
  missing(Primitive::RandomUniform);
}
void Backend::random_normal(const ExecContext&, const TensorView&, uint64_t, uint64_t) {
  missing(Primitive::RandomNormal);
}
void Backend::dropout_mask(const ExecContext&, const TensorView&, double, uint64_t, uint64_t) {
  missing(Primitive::DropoutMask);
}
void Backend::sgd_update(const ExecContext&, const TensorView&, const TensorView&, const OptionalView&,
                         const SgdParams&) {
  missing(Primitive::SgdUpdate);
}
void Backend::adam_update(const ExecContext&, const TensorView&, const TensorView&, const TensorView&,
                          const TensorView&, const OptionalView&, const AdamParams&) {
  missing(Primitive::AdamUpdate);
}
void Backend::synchronize(const ExecContext&) { missing(Primitive::Synchronize); }

// ---- registry ----

void register_backend(Backend* backend) {
  EMBER_ASSERT(backend != nullptr);
  std::lock_guard<std::mutex> lock(registry().mutex);
  DeviceBackends& d = devices_of(backend->device_type());
  EMBER_CHECK(find(d, backend->name()) == nullptr, ValueError, "register_backend: ", backend->full_name(),
              " is already registered");
  EMBER_CHECK(backend->base_name().empty() || find(d, backend->base_name()) != nullptr, ValueError,
              "register_backend: ", backend->full_name(), " falls back to '", backend->base_name(),
              "', which is not registered (registered: ", names_of(d), ")");
  d.all.push_back(backend);
  if (d.active == nullptr) activate(d, backend);
}

bool has_backend(DeviceType type) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  return devices_of(type).active != nullptr;
}

std::vector<std::string> backend_names(DeviceType type) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  std::vector<std::string> out;
  for (Backend* b : devices_of(type).all) out.push_back(b->name());
  return out;
}

namespace {
// The backend `name`, or ValueError saying `context`: unknown ... (registered: ...).
Backend& named(DeviceType type, const std::string& name, const std::string& context) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  DeviceBackends& d = devices_of(type);
  Backend* b = find(d, name);
  EMBER_CHECK(b != nullptr, ValueError, context, ": unknown ", device_type_name(type), " backend '", name,
              "' (registered for ", device_type_name(type), ": ", names_of(d), ")");
  return *b;
}

void activate_named(DeviceType type, const std::string& name, const std::string& context) {
  Backend& b = named(type, name, context);
  std::lock_guard<std::mutex> lock(registry().mutex);
  activate(devices_of(type), &b);
}
}  // namespace

Backend& backend_named(DeviceType type, const std::string& name) { return named(type, name, "backend_named"); }

void select_backend(DeviceType type, const std::string& name) { activate_named(type, name, "set_backend"); }

void set_backends_from_string(const std::string& spec, const char* source) {
  const std::string context = std::string(source) + "=" + spec;
  std::vector<std::pair<DeviceType, std::string>> picks;
  for (size_t start = 0; start <= spec.size();) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    const size_t colon = item.find(':');
    EMBER_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < item.size(), ValueError, context,
                ": expected DEVICE:IMPL (e.g. cpu:eigen or cuda:cudnn), comma-separated");
    const std::string device = item.substr(0, colon);
    EMBER_CHECK(device == "cpu" || device == "cuda", ValueError, context, ": unknown device '", device,
                "' (expected cpu or cuda)");
    const DeviceType type = device == "cpu" ? DeviceType::CPU : DeviceType::CUDA;
    EMBER_CHECK(has_backend(type), DeviceError, context, ": this build of Ember has no ", device, " backend");
    named(type, item.substr(colon + 1), context);  // every item is checked before any is applied
    picks.emplace_back(type, item.substr(colon + 1));
    start = comma + 1;
  }
  for (const auto& [type, name] : picks) activate_named(type, name, context);
}

Backend& active_backend(DeviceType type) {
  Backend* b;
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    b = devices_of(type).active;
  }
  if (!b) no_backend(type);
  return *b;
}

Allocator* pinned_host_allocator(DeviceType type) {
  if (!has_backend(type)) return nullptr;
  Backend& root = device_backend(type);
  return root.device_count() > 0 ? root.pinned_allocator() : nullptr;
}

Backend& device_backend(DeviceType type) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  DeviceBackends& d = devices_of(type);
  if (!d.active) no_backend(type);
  Backend* b = d.active;
  while (!b->base_name().empty()) b = find(d, b->base_name());
  return *b;
}

Backend& backend_for(Primitive p, DeviceType type) {
  DeviceBackends& d = devices_of(type);
  if (Backend* b = d.resolved[static_cast<int>(p)].load(std::memory_order_acquire)) return *b;
  Backend& active = active_backend(type);  // throws if none is registered
  std::string chain = active.full_name();
  for (const Backend* b = &active; !b->base_name().empty();) {
    chain += " -> " + std::string(device_type_name(type)) + ":" + b->base_name();
    b = find(d, b->base_name());
    if (!b) break;
  }
  throw DeviceError(detail::concat(device_type_name(type), ": ", primitive_name(p), " has no kernel in ", chain,
                    (type == DeviceType::CUDA ? " yet; move the tensors to the CPU with .to(\"cpu\")" : "")));
}

bool has_kernel(Primitive p, DeviceType type) {
  return devices_of(type).resolved[static_cast<int>(p)].load(std::memory_order_acquire) != nullptr;
}

std::string describe_active_backend(DeviceType type) {
  Backend& b = active_backend(type);
  std::string s = b.full_name();
  if (!b.base_name().empty()) s += " (falls back to " + device_backend(type).full_name() + ")";
  return s;
}

}  // namespace ember
