// ember::distributed's front: joining the world, checking each collective's
// arguments, and choosing its backend by the tensor's device (backend.h):
// MPI for CPU tensors in a world mpirun started, NCCL for CUDA tensors when
// built with it. In the world of one (no mpirun, or no MPI in the build)
// every collective is the identity, a sum or mean over one rank, with the
// same argument checks, so a program that is wrong for N ranks fails alone.
#include "ember/distributed/distributed.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "backend.h"
#include "ember/autograd/ops.h"

namespace ember::distributed {

namespace {

detail::World g_world;
bool g_inited = false;
std::mutex g_init_mutex;
std::atomic<int64_t> g_timeout_ms{-1};

class DoneWork : public Work {
 public:
  void wait() override {}
  bool done() override { return true; }
};

int64_t timeout_from_env() {
  const char* env = std::getenv("EMBER_DIST_TIMEOUT");
  if (!env || !*env) return 300'000;
  char* end = nullptr;
  const double s = std::strtod(env, &end);
  EMBER_CHECK(end && *end == '\0' && s > 0, ValueError, "EMBER_DIST_TIMEOUT=", env,
              ": expected a positive number of seconds");
  return static_cast<int64_t>(s * 1000.0 + 0.5) > 0 ? static_cast<int64_t>(s * 1000.0 + 0.5) : 1;
}

void check_tensor(const char* op, const Tensor& t) {
  EMBER_CHECK(t.defined(), ValueError, "distributed::", op, ": the tensor is undefined");
  EMBER_CHECK(t.is_contiguous(), ValueError, "distributed::", op, ": the tensor must be contiguous, got shape ",
              shape_str(t.shape()), " with strides ", shape_str(t.strides()));
}

void check_reduce(const Tensor& t, ReduceOp op) {
  const DType d = t.dtype();
  EMBER_CHECK(d == DType::Float32 || d == DType::Float64 || d == DType::Int64, DTypeError,
              "distributed::all_reduce: dtype ", dtype_name(d), " is not supported (float32, float64, int64)");
  EMBER_CHECK(op == ReduceOp::Sum || is_floating(d), DTypeError,
              "distributed::all_reduce: the average of a ", dtype_name(d),
              " tensor is not supported (floating dtypes only; use ReduceOp::Sum)");
}

// CUDA tensors need NCCL when there is more than one rank.
[[maybe_unused]] void no_nccl(const char* op) {
  throw DeviceError(ember::detail::concat("distributed::", op, ": CUDA tensors go through NCCL, and this build has ",
                                          "none (EMBER_NCCL, cmake/EmberMpi.cmake); move the tensor to the CPU"));
}

void finalize_at_exit() { finalize(); }

}  // namespace

namespace detail {

const World& world() {
  init();
  return g_world;
}

std::string describe(const char* op, int64_t seq, const Tensor& t) {
  return ember::detail::concat(op, " #", seq, " (", t.numel(), " ", dtype_name(t.dtype()), ")");
}

}  // namespace detail

void init() {
  std::lock_guard lk(g_init_mutex);
  if (g_inited) return;
  g_inited = true;
  timeout();  // a malformed EMBER_DIST_TIMEOUT fails here, not in the first collective
#if EMBER_HAVE_MPI
  if (detail::launched_by_mpi()) {
    g_world = detail::mpi_init();
    std::atexit(finalize_at_exit);
  }
#endif
}

void finalize() {
#if EMBER_HAVE_NCCL
  detail::nccl_finalize();
#endif
#if EMBER_HAVE_MPI
  if (g_world.mpi) detail::mpi_finalize();
#endif
}

void abort(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
#if EMBER_HAVE_MPI
  if (g_world.mpi) detail::mpi_abort(code);
#endif
  std::exit(code);
}

int rank() { return detail::world().rank; }
int world_size() { return detail::world().size; }
int local_rank() { return detail::world().local_rank; }
bool is_distributed() { return world_size() > 1; }

std::string backend_name(Device device) {
  if (device.is_cuda() && built_with_nccl()) return "nccl";
  return detail::world().mpi && device.is_cpu() ? "mpi" : "single";
}

bool built_with_mpi() {
#if EMBER_HAVE_MPI
  return true;
#else
  return false;
#endif
}
bool built_with_nccl() {
#if EMBER_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

std::chrono::milliseconds timeout() {
  if (g_timeout_ms.load() < 0) {
    int64_t expected = -1;
    g_timeout_ms.compare_exchange_strong(expected, timeout_from_env());
  }
  return std::chrono::milliseconds(g_timeout_ms.load());
}
void set_timeout(std::chrono::milliseconds t) {
  EMBER_CHECK(t.count() > 0, ValueError, "distributed::set_timeout: must be positive, got ", t.count(), " ms");
  g_timeout_ms = t.count();
}

std::shared_ptr<Work> all_reduce_async(const Tensor& t, ReduceOp op) {
  check_tensor("all_reduce", t);
  check_reduce(t, op);
  const detail::World& w = detail::world();
  if (t.device().is_cuda()) {
#if EMBER_HAVE_NCCL
    return detail::nccl_all_reduce(t, op);
#else
    if (w.size > 1) no_nccl("all_reduce");
#endif
  }
#if EMBER_HAVE_MPI
  if (w.mpi && t.device().is_cpu()) return detail::mpi_all_reduce(t, op);
#endif
  return std::make_shared<DoneWork>();
}
void all_reduce(const Tensor& t, ReduceOp op) { all_reduce_async(t, op)->wait(); }

void broadcast(const Tensor& t, int root) {
  check_tensor("broadcast", t);
  const detail::World& w = detail::world();
  EMBER_CHECK(root >= 0 && root < w.size, ValueError, "distributed::broadcast: root ", root,
              " is not a rank of a world of ", w.size);
  if (t.device().is_cuda()) {
#if EMBER_HAVE_NCCL
    detail::nccl_broadcast(t, root)->wait();
    return;
#else
    if (w.size > 1) no_nccl("broadcast");
#endif
  }
#if EMBER_HAVE_MPI
  if (w.mpi && t.device().is_cpu()) detail::mpi_broadcast(t, root)->wait();
#endif
}

Tensor all_gather(const Tensor& t) {
  check_tensor("all_gather", t);
  const detail::World& w = detail::world();
  Shape shape = t.shape();
  shape.insert(shape.begin(), w.size);
  if (t.device().is_cuda()) {
#if EMBER_HAVE_NCCL
    Tensor out = make_empty(shape, t.dtype(), t.device());
    detail::nccl_all_gather(t, out)->wait();
    return out;
#else
    if (w.size > 1) no_nccl("all_gather");
#endif
  }
#if EMBER_HAVE_MPI
  if (w.mpi && t.device().is_cpu()) {
    Tensor out = make_empty(shape, t.dtype(), t.device());
    detail::mpi_all_gather(t, out)->wait();
    return out;
  }
#endif
  return t.detach().unsqueeze(0).clone();
}

void barrier() {
#if EMBER_HAVE_MPI
  if (detail::world().mpi) detail::mpi_barrier()->wait();
#endif
}

}  // namespace ember::distributed
