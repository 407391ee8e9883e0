// The world of one process: what ember::distributed is in a build without
// MPI, or when the program was not started by mpirun. Every collective is
// then the identity (a sum or mean over one rank), and all_gather stacks
// the one tensor. The MPI and NCCL backends take over from here.
#include "ember/distributed/distributed.h"

#include <cstdlib>

#include "ember/autograd/ops.h"

namespace ember::distributed {

namespace {

std::chrono::milliseconds g_timeout{300'000};

class DoneWork : public Work {
 public:
  void wait() override {}
  bool done() override { return true; }
};

void check_tensor(const char* op, const Tensor& t) {
  EMBER_CHECK(t.defined(), ValueError, "distributed::", op, ": the tensor is undefined");
  EMBER_CHECK(t.is_contiguous(), ValueError, "distributed::", op, ": the tensor must be contiguous, got shape ",
              shape_str(t.shape()), " with strides ", shape_str(t.strides()));
}

}  // namespace

void init() {}
void finalize() {}
void abort(int code) { std::exit(code); }

int rank() { return 0; }
int world_size() { return 1; }
int local_rank() { return 0; }
bool is_distributed() { return false; }
std::string backend_name(Device) { return "single"; }

std::chrono::milliseconds timeout() { return g_timeout; }
void set_timeout(std::chrono::milliseconds t) {
  EMBER_CHECK(t.count() > 0, ValueError, "distributed::set_timeout: must be positive, got ", t.count(), " ms");
  g_timeout = t;
}

std::shared_ptr<Work> all_reduce_async(const Tensor& t, ReduceOp) {
  check_tensor("all_reduce", t);
  return std::make_shared<DoneWork>();
}
void all_reduce(const Tensor& t, ReduceOp op) { all_reduce_async(t, op)->wait(); }
void broadcast(const Tensor& t, int root) {
  check_tensor("broadcast", t);
  EMBER_CHECK(root == 0, ValueError, "distributed::broadcast: root ", root, " is not a rank of a world of 1");
}
Tensor all_gather(const Tensor& t) {
  check_tensor("all_gather", t);
  return t.detach().unsqueeze(0).clone();
}
void barrier() {}

}  // namespace ember::distributed
