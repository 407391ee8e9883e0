// The NCCL backend: CUDA tensors across ranks, one GPU per rank.
//
// One communicator per device this process uses, made at its first
// collective: rank 0 makes the unique id and MPI_Bcast sends it to the
// others (a world of one, without mpirun, makes its own). Collectives are
// queued on the device's one stream (core's Backend::stream), so they are
// ordered with the kernels before and after them. wait() then polls an
// event recorded after the collective, and the communicator's
// asynchronous error, until timeout(): past it the communicator is aborted
// (ncclCommAbort) and a DistributedError names the collective (Note
// [Collective timeouts]). Average is NCCL's own ncclAvg.
#include <cuda_runtime.h>
#include <nccl.h>

#include <map>
#include <mutex>
#include <thread>

#include "backend.h"
#include "ember/core/backend.h"
#include "ember/core/error.h"

namespace ember::distributed::detail {

namespace {

using Clock = std::chrono::steady_clock;

void check_nccl(ncclResult_t r, const std::string& what) {
  if (r != ncclSuccess && r != ncclInProgress)
    throw DistributedError(ember::detail::concat("distributed: ", what, ": NCCL error: ", ncclGetErrorString(r)));
}
void check_cuda(cudaError_t e, const std::string& what) {
  if (e != cudaSuccess)
    throw DistributedError(ember::detail::concat("distributed: ", what, ": CUDA error: ", cudaGetErrorString(e)));
}

struct Comms {
  std::mutex m;
  std::map<int, ncclComm_t> by_device;
  int64_t next_seq = 0;
};
Comms& comms() {
  static Comms c;
  return c;
}

ncclComm_t comm_for(int device) {
  Comms& c = comms();
  std::lock_guard lk(c.m);
  if (auto it = c.by_device.find(device); it != c.by_device.end()) return it->second;
  const World& w = world();
  ncclUniqueId id{};
  if (w.rank == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
#if EMBER_HAVE_MPI
  if (w.mpi) mpi_broadcast_bytes(&id, sizeof id, 0, "NCCL unique id");
#endif
  check_cuda(cudaSetDevice(device), "cudaSetDevice");
  ncclComm_t comm = nullptr;
  check_nccl(ncclCommInitRank(&comm, w.size, id, w.rank),
             ember::detail::concat("ncclCommInitRank (rank ", w.rank, " of ", w.size, ", cuda:", device, ")"));
  c.by_device[device] = comm;
  return comm;
}

ncclDataType_t nccl_type(DType d) {
  switch (d) {
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    case DType::Int64: return ncclInt64;
    case DType::UInt8: return ncclUint8;
    case DType::Bool: return ncclUint8;
  }
  return ncclUint8;
}

class NcclWork : public Work {
 public:
  NcclWork(std::string what, ncclComm_t comm, int device, cudaStream_t stream)
      : what_(std::move(what)), comm_(comm), device_(device), limit_(timeout()), start_(Clock::now()) {
    check_cuda(cudaSetDevice(device), what_);
    check_cuda(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming), what_);
    check_cuda(cudaEventRecord(event_, stream), what_);
  }
  ~NcclWork() override {
    if (event_) cudaEventDestroy(event_);
  }
  bool done() override { return poll(); }
  void wait() override {
    while (!poll()) {
      if (Clock::now() - start_ > limit_) {
        ncclCommAbort(comm_);
        forget();
        throw DistributedError(ember::detail::concat(
            "distributed: ", what_, " did not complete within ", limit_.count() / 1000.0,
            " s (EMBER_DIST_TIMEOUT or set_timeout) on rank ", world().rank, " of ", world().size,
            ": a rank never arrived at it or stopped (NCCL cannot say which). ",
            "The job cannot continue: end it with distributed::abort()"));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

 private:
  bool poll() {
    ncclResult_t async = ncclSuccess;
    ncclCommGetAsyncError(comm_, &async);
    check_nccl(async, what_);
    check_cuda(cudaSetDevice(device_), what_);
    const cudaError_t e = cudaEventQuery(event_);
    if (e == cudaErrorNotReady) return false;
    check_cuda(e, what_);
    return true;
  }
  // An aborted communicator is gone: the next collective would need a new one.
  void forget() {
    Comms& c = comms();
    std::lock_guard lk(c.m);
    c.by_device.erase(device_);
  }

  std::string what_;
  ncclComm_t comm_;
  int device_;
  std::chrono::milliseconds limit_;
  Clock::time_point start_;
  cudaEvent_t event_ = nullptr;
};

struct Launch {
  std::string what;
  ncclComm_t comm;
  int device;
  cudaStream_t stream;
};
Launch prepare(const char* op, const Tensor& t) {
  const int device = t.device().index;
  ncclComm_t comm = comm_for(device);
  int64_t seq = 0;
  {
    std::lock_guard lk(comms().m);
    seq = comms().next_seq++;
  }
  auto stream = static_cast<cudaStream_t>(device_backend(DeviceType::CUDA).stream(device));
  check_cuda(cudaSetDevice(device), op);
  return {describe(op, seq, t), comm, device, stream};
}

}  // namespace

std::shared_ptr<Work> nccl_all_reduce(const Tensor& t, ReduceOp op) {
  Launch l = prepare("all_reduce", t);
  check_nccl(ncclAllReduce(t.raw_data(), t.raw_data(), static_cast<size_t>(t.numel()), nccl_type(t.dtype()),
                           op == ReduceOp::Average ? ncclAvg : ncclSum, l.comm, l.stream),
             l.what);
  t.bump_version();
  return std::make_shared<NcclWork>(l.what, l.comm, l.device, l.stream);
}

std::shared_ptr<Work> nccl_broadcast(const Tensor& t, int root) {
  Launch l = prepare("broadcast", t);
  const size_t nbytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
  check_nccl(ncclBroadcast(t.raw_data(), t.raw_data(), nbytes, ncclUint8, root, l.comm, l.stream), l.what);
  t.bump_version();
  return std::make_shared<NcclWork>(l.what, l.comm, l.device, l.stream);
}

std::shared_ptr<Work> nccl_all_gather(const Tensor& in, const Tensor& out) {
  Launch l = prepare("all_gather", in);
  const size_t nbytes = static_cast<size_t>(in.numel()) * dtype_size(in.dtype());
  check_nccl(ncclAllGather(in.raw_data(), out.raw_data(), nbytes, ncclUint8, l.comm, l.stream), l.what);
  return std::make_shared<NcclWork>(l.what, l.comm, l.device, l.stream);
}

void nccl_finalize() {
  Comms& c = comms();
  std::lock_guard lk(c.m);
  for (auto& [device, comm] : c.by_device) {
    cudaSetDevice(device);
    ncclCommDestroy(comm);
  }
  c.by_device.clear();
}

}  // namespace ember::distributed::detail
