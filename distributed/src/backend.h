// The backends behind ember::distributed (internal header): the world as
// MPI started it (mpi_backend.cpp, built with EMBER_HAVE_MPI) and NCCL
// communicators for CUDA tensors (nccl_backend.cpp, EMBER_HAVE_NCCL).
// distributed.cpp checks arguments and picks one by the tensor's device;
// the functions here take checked, contiguous tensors.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "ember/distributed/config.h"
#include "ember/distributed/distributed.h"

namespace ember::distributed::detail {

// Who this process is; a world of one until MPI says otherwise.
struct World {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  bool mpi = false;  // MPI_Init_thread ran (launched by mpirun, built with MPI)
};
const World& world();  // init()s on first use

// "all_reduce #57 (1000 float32)": how errors name a collective.
std::string describe(const char* op, int64_t seq, const Tensor& t);

#if EMBER_HAVE_MPI
// Whether the environment says mpirun (or another PMI launcher) started us.
bool launched_by_mpi();
// MPI_Init_thread, then the world's numbers and the communication thread.
World mpi_init();
void mpi_finalize();
[[noreturn]] void mpi_abort(int code);
// Collectives on CPU tensors, queued to the communication thread in call
// order; each returns at once. `out` of all_gather: [world, *in.shape].
std::shared_ptr<Work> mpi_all_reduce(const Tensor& t, ReduceOp op);
std::shared_ptr<Work> mpi_broadcast(const Tensor& t, int root);
std::shared_ptr<Work> mpi_all_gather(const Tensor& in, const Tensor& out);
std::shared_ptr<Work> mpi_barrier();
// Root's `nbytes` at `data` on every rank, blocking (NCCL's unique id).
void mpi_broadcast_bytes(void* data, size_t nbytes, int root, const char* what);
#endif

#if EMBER_HAVE_NCCL
// Collectives on CUDA tensors, on the device's stream.
std::shared_ptr<Work> nccl_all_reduce(const Tensor& t, ReduceOp op);
std::shared_ptr<Work> nccl_broadcast(const Tensor& t, int root);
std::shared_ptr<Work> nccl_all_gather(const Tensor& in, const Tensor& out);
void nccl_finalize();
#endif

}  // namespace ember::distributed::detail
