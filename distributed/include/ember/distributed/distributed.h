// ember::distributed: data-parallel training across processes, on the
// engines the field uses (docs/distributed.md). A process belongs to one
// world of `world_size()` ranks, started by `mpirun -np N`; without mpirun
// (or in a build without MPI) the world is this process alone.
//
// Collectives act in place on a contiguous tensor and are chosen by its
// device: CPU tensors go through MPI (Open MPI from Debian, EMBER_MPI=AUTO),
// CUDA tensors through NCCL (built when CUDA and NCCL are found; its unique
// id reaches the other ranks by MPI_Bcast). Every rank must call the same
// collectives in the same order with tensors of the same shape and dtype.
//
// Note [Collective timeouts]
// A collective that cannot complete (a rank died, or stopped) must not hang
// the job. Every wait is bounded by timeout() (EMBER_DIST_TIMEOUT seconds,
// default 300): past it, the waiting rank throws a DistributedError that
// names the collective, its sequence number and the ranks that never
// arrived at it, and the program's top level ends the whole job (abort()).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::distributed {

enum class ReduceOp { Sum, Average };

// A collective started with *_async: wait() blocks until it is done (or
// throws DistributedError past the timeout); done() asks without blocking.
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
  virtual bool done() = 0;
};

// Joins the world: MPI_Init_thread when launched by mpirun and built with
// MPI, else a world of one. Called once, before any collective (the first
// collective or query calls it too). Idempotent.
void init();
// Leaves the world (MPI_Finalize); called at exit if init() ran.
void finalize();
// Ends every rank of the job now, with `code` (MPI_Abort; exit otherwise):
// what a rank does after a DistributedError, so that no peer waits forever.
[[noreturn]] void abort(int code = 1);

int rank();        // 0 .. world_size() - 1
int world_size();  // 1 without mpirun
int local_rank();  // rank among the processes on this machine (picks the GPU)
bool is_distributed();  // world_size() > 1
// "mpi", "nccl" or "single" (a world of one): the backend a tensor on
// `device` goes through.
std::string backend_name(Device device = kCPU);

// What this build has (also as macros in ember/distributed/config.h).
bool built_with_mpi();
bool built_with_nccl();

std::chrono::milliseconds timeout();
void set_timeout(std::chrono::milliseconds timeout);

// In place: t becomes the sum (or the mean) of every rank's t.
std::shared_ptr<Work> all_reduce_async(const Tensor& t, ReduceOp op = ReduceOp::Sum);
void all_reduce(const Tensor& t, ReduceOp op = ReduceOp::Sum);
// In place: t becomes root's t on every rank.
void broadcast(const Tensor& t, int root = 0);
// Every rank's t, stacked: [world_size, *t.shape].
Tensor all_gather(const Tensor& t);
void barrier();

}  // namespace ember::distributed
