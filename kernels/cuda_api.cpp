// ember/kernels/cuda.h: the user's view of the CUDA device, over the runtime
// of kernels/cuda/ when it is built, and loud DeviceErrors when it is not.
#include "ember/kernels/cuda.h"

#include "ember/core/error.h"
#include "ember/kernels/cudnn.h"
#include "ember/kernels/register.h"

#ifdef EMBER_HAVE_CUDA
#include "cuda/gemm.h"
#include "cuda/graph.h"
#include "cuda/launchers.h"
#include "cuda/runtime.h"
#endif

namespace ember::cuda {

namespace {
#ifdef EMBER_HAVE_CUDA
kernels::cuda::CachingAllocator& allocator_of(int device) {
  const int n = device_count();
  EMBER_CHECK(device >= 0 && device < n, DeviceError, "cuda:", device, " is not available (", n,
              " CUDA device(s) visible)");
  return kernels::cuda::device_allocator(device);
}
#else
[[noreturn]] void not_built(const char* what) {
  throw DeviceError(detail::concat("cuda::", what, ": Ember was built without the CUDA backend (EMBER_CUDA=OFF or ",
                                   "no nvcc; EMBER_CUDA=EMULATE builds the emulator)"));
}
#endif
}  // namespace

bool is_built() { return kernels::built_with_cuda(); }

bool is_emulated() {
#ifdef EMBER_SIMT
  return true;
#else
  return false;
#endif
}

bool is_available() { return device_count() > 0; }

int device_count() {
#ifdef EMBER_HAVE_CUDA
  return kernels::cuda::device_count();
#else
  return 0;
#endif
}

#ifdef EMBER_HAVE_CUDA
MemoryStats memory_stats(int device) { return allocator_of(device).stats(); }
void empty_cache(int device) {
  kernels::cuda::check_not_capturing(device, "empty_cache");  // cudaFree would end the capture
  allocator_of(device).empty_cache();
}
void set_memory_limit(size_t bytes, int device) { allocator_of(device).set_limit(bytes); }
void synchronize(int device) {
  allocator_of(device);  // checks the index
  kernels::cuda::synchronize(device);
}
// The names of a (value, name) table, and the name of one value.
template <typename E>
std::vector<std::string> names_of(const std::vector<std::pair<E, std::string>>& table) {
  std::vector<std::string> names;
  for (const auto& [v, name] : table) names.push_back(name);
  return names;
}
template <typename E>
std::string name_of(const std::vector<std::pair<E, std::string>>& table, E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}
std::vector<std::string> sgemm_variants() { return names_of(kernels::cuda::sgemm_names()); }
std::string sgemm() { return name_of(kernels::cuda::sgemm_names(), kernels::cuda::sgemm_variant()); }
void set_sgemm(const std::string& name) { kernels::cuda::set_sgemm_variant(name); }
std::vector<std::string> conv_algorithms() { return names_of(kernels::cuda::conv_algorithm_names()); }
std::string conv_algorithm() {
  return name_of(kernels::cuda::conv_algorithm_names(), kernels::cuda::conv_algorithm());
}
void set_conv_algorithm(const std::string& name) { kernels::cuda::set_conv_algorithm(name); }

Upload::Upload(const Tensor& host, Device device) {
  EMBER_CHECK(host.defined() && host.device().is_cpu() && host.is_contiguous(), ValueError,
              "Upload: expected a contiguous CPU tensor");
  EMBER_CHECK(device.is_cuda(), ValueError, "Upload: expected a cuda device, got ", device.str());
  allocator_of(device.index);  // checks the index
  tensor_ = make_empty(host.shape(), host.dtype(), device);
  host_ = host;
  pending_ = kernels::cuda::start_upload(device.index, tensor_.raw_data(), host.raw_data(),
                                         static_cast<size_t>(host.numel()) * dtype_size(host.dtype()));
}
Upload::~Upload() {
  if (pending_) {
    try {
      kernels::cuda::finish_upload(tensor_.device().index, pending_);  // never leave the event behind
    } catch (...) {
    }
  }
}
Upload::Upload(Upload&& o) noexcept : tensor_(std::move(o.tensor_)), host_(std::move(o.host_)), pending_(o.pending_) {
  o.pending_ = nullptr;
}
Upload& Upload::operator=(Upload&& o) noexcept {
  if (this == &o) return *this;
  if (pending_) {
    try {
      kernels::cuda::finish_upload(tensor_.device().index, pending_);
    } catch (...) {
    }
  }
  tensor_ = std::move(o.tensor_);
  host_ = std::move(o.host_);
  pending_ = o.pending_;
  o.pending_ = nullptr;
  return *this;
}
Tensor Upload::get() {
  EMBER_CHECK(valid(), ValueError, "Upload::get on an empty upload");
  if (pending_) {
    kernels::cuda::finish_upload(tensor_.device().index, pending_);
    pending_ = nullptr;
  }
  host_ = Tensor();
  return tensor_;
}

struct Graph::Impl {
  kernels::cuda::CapturedGraph graph;
  explicit Impl(int device) : graph(device) {}
};
Graph::Graph(int device) {
  allocator_of(device);  // checks the index, sets the device up
  impl_ = std::make_unique<Impl>(device);
}
Graph::~Graph() = default;
Graph::Graph(Graph&&) noexcept = default;
Graph& Graph::operator=(Graph&&) noexcept = default;
void Graph::capture_begin() { impl_->graph.begin(); }
void Graph::capture_end() { impl_->graph.end(); }
void Graph::replay() { impl_->graph.replay(); }
bool Graph::captured() const { return impl_->graph.captured(); }
size_t Graph::nodes() const { return impl_->graph.nodes(); }
#else
MemoryStats memory_stats(int) { not_built("memory_stats"); }
void empty_cache(int) { not_built("empty_cache"); }
void set_memory_limit(size_t, int) { not_built("set_memory_limit"); }
void synchronize(int) { not_built("synchronize"); }
std::vector<std::string> sgemm_variants() { not_built("sgemm_variants"); }
std::string sgemm() { not_built("sgemm"); }
void set_sgemm(const std::string&) { not_built("set_sgemm"); }
std::vector<std::string> conv_algorithms() { not_built("conv_algorithms"); }
std::string conv_algorithm() { not_built("conv_algorithm"); }
void set_conv_algorithm(const std::string&) { not_built("set_conv_algorithm"); }
DeviceInfo device_info(int) { not_built("device_info"); }
Event::Event(int) { not_built("Event"); }
Event::~Event() = default;
void Event::record() { not_built("Event::record"); }
double Event::elapsed_ms(const Event&, const Event&) { not_built("Event::elapsed_ms"); }
Upload::Upload(const Tensor&, Device) { not_built("Upload"); }
Upload::~Upload() = default;
Upload::Upload(Upload&&) noexcept = default;
Upload& Upload::operator=(Upload&&) noexcept = default;
Tensor Upload::get() { not_built("Upload::get"); }
struct Graph::Impl {};
Graph::Graph(int) { not_built("Graph"); }
Graph::~Graph() = default;
Graph::Graph(Graph&&) noexcept = default;
Graph& Graph::operator=(Graph&&) noexcept = default;
void Graph::capture_begin() { not_built("Graph::capture_begin"); }
void Graph::capture_end() { not_built("Graph::capture_end"); }
void Graph::replay() { not_built("Graph::replay"); }
bool Graph::captured() const { return false; }
size_t Graph::nodes() const { return 0; }
#endif

// ember/kernels/cudnn.h without the vendor backend: kernels/cudnn/vendor.cpp
// defines them when it is built.
#ifndef EMBER_HAVE_CUDNN
bool vendor_built() { return false; }
std::string cudnn_version() { return ""; }
std::string cublas_version() { return ""; }
size_t cudnn_cached_algorithms() { return 0; }
size_t cudnn_vendor_calls(const std::string&) { return 0; }
#endif

}  // namespace ember::cuda
