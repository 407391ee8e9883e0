// One rank of the MPI tests (tests/CMakeLists.txt runs it under mpirun with
// EMBER_MPIEXEC_FLAGS). Modes:
//   collectives  each collective on numbers made from the rank ids, checked
//                exactly: all_reduce sum/average on float32, float64, int64
//                of odd sizes, several async ones in flight, broadcast from
//                root 1, all_gather, barrier. Prints "collectives ok".
//   loop         all_reduce forever (the dead-rank tests, dist_dead_rank.sh):
//                writes its pid to $EMBER_DIST_PID_DIR/rank<r>.pid first; a
//                DistributedError is printed and ends the job by abort().
//   late         rank 1 sleeps 60 s before its first all_reduce, alive but
//                absent: rank 0's error must say "rank 1 never arrived".
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <unistd.h>

#include "ember/autograd/ops.h"
#include "ember/distributed/distributed.h"

namespace dist = ember::distributed;
using ember::Tensor;

namespace {

int failures = 0;
void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "rank " << dist::rank() << ": FAILED " << what << "\n";
    ++failures;
  }
}

// Element i of rank r's tensor: r * 1000 + i (exact in float32 for our sizes).
template <typename T>
Tensor rank_tensor(int64_t n, int r) {
  std::vector<T> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<T>(r * 1000 + i);
  return ember::from_vector<T>(v);
}

// The sum over ranks of element i: sum_r (r*1000 + i).
double sum_at(int64_t i, int world) { return 1000.0 * world * (world - 1) / 2 + static_cast<double>(i) * world; }

template <typename T>
void check_all_reduce(int64_t n, dist::ReduceOp op, const char* name) {
  const int w = dist::world_size();
  Tensor t = rank_tensor<T>(n, dist::rank());
  dist::all_reduce(t, op);
  const T* p = t.data_ptr<T>();
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) {
    const double want = op == dist::ReduceOp::Sum ? sum_at(i, w) : sum_at(i, w) / w;
    ok = ok && static_cast<double>(p[i]) == static_cast<double>(static_cast<T>(want));
  }
  expect(ok, std::string("all_reduce ") + name + " n=" + std::to_string(n));
}

void collectives() {
  const int r = dist::rank(), w = dist::world_size();
  for (int64_t n : {1, 7, 1001, 65537}) {
    check_all_reduce<float>(n, dist::ReduceOp::Sum, "sum float32");
    check_all_reduce<float>(n, dist::ReduceOp::Average, "average float32");
    check_all_reduce<double>(n, dist::ReduceOp::Sum, "sum float64");
    check_all_reduce<double>(n, dist::ReduceOp::Average, "average float64");
    check_all_reduce<int64_t>(n, dist::ReduceOp::Sum, "sum int64");
  }
  // Several in flight at once, waited for in reverse order.
  std::vector<Tensor> ts;
  std::vector<std::shared_ptr<dist::Work>> works;
  for (int k = 0; k < 6; ++k) {
    ts.push_back(rank_tensor<double>(333 + k, r + k));
    works.push_back(dist::all_reduce_async(ts.back(), dist::ReduceOp::Sum));
  }
  for (int k = 5; k >= 0; --k) {
    works[static_cast<size_t>(k)]->wait();
    expect(works[static_cast<size_t>(k)]->done(), "async done() after wait()");
    const double* p = ts[static_cast<size_t>(k)].data_ptr<double>();
    bool ok = true;
    for (int64_t i = 0; i < 333 + k; ++i) ok = ok && p[i] == sum_at(i, w) + 1000.0 * k * w;
    expect(ok, "async all_reduce #" + std::to_string(k));
  }
  // Broadcast from root 1 (root 0 in a world of one).
  const int root = w > 1 ? 1 : 0;
  Tensor b = rank_tensor<int64_t>(17, r);
  dist::broadcast(b, root);
  bool ok = true;
  for (int64_t i = 0; i < 17; ++i) ok = ok && b.data_ptr<int64_t>()[i] == root * 1000 + i;
  expect(ok, "broadcast from root " + std::to_string(root));
  // all_gather: row q is rank q's tensor.
  Tensor g = dist::all_gather(rank_tensor<float>(5, r));
  expect(g.shape() == ember::Shape{w, 5}, "all_gather shape");
  ok = true;
  for (int q = 0; q < w; ++q)
    for (int64_t i = 0; i < 5; ++i) ok = ok && g.data_ptr<float>()[q * 5 + i] == static_cast<float>(q * 1000 + i);
  expect(ok, "all_gather values");
  dist::barrier();
  if (failures == 0) std::cout << "rank " << r << " of " << w << " (" << dist::backend_name() << "): collectives ok\n";
}

void loop() {
  if (const char* dir = std::getenv("EMBER_DIST_PID_DIR")) {
    std::ofstream(std::string(dir) + "/rank" + std::to_string(dist::rank()) + ".pid") << getpid() << "\n";
  }
  dist::barrier();
  Tensor t = rank_tensor<float>(1000, dist::rank());
  for (long step = 0;; ++step) {
    dist::all_reduce(t, dist::ReduceOp::Average);
    if (step % 1000 == 0) std::cout << "rank " << dist::rank() << " step " << step << std::endl;
  }
}

void late() {
  if (dist::rank() == 1) sleep(60);
  Tensor t = rank_tensor<double>(10, dist::rank());
  dist::all_reduce(t);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "collectives";
  try {
    dist::init();
    if (mode == "loop") loop();
    else if (mode == "late") late();
    else collectives();
  } catch (const ember::DistributedError& e) {
    std::cerr << "ember: " << e.what() << std::endl;
    dist::abort(3);
  } catch (const std::exception& e) {
    std::cerr << "rank " << dist::rank() << ": " << e.what() << std::endl;
    dist::abort(2);
  }
  return failures == 0 ? 0 : 1;
}
