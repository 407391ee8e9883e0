// ember::distributed in the world of one (no mpirun): every collective is
// the identity, with the same argument checks as in a world of N. The
// collectives across ranks are tests/distributed_ranks.cpp's, under mpirun.
#include <catch2/catch.hpp>

#include "ember/autograd/ops.h"
#include "ember/distributed/config.h"
#include "ember/distributed/distributed.h"

namespace dist = ember::distributed;
using namespace ember;

TEST_CASE("the world of one: rank 0 of 1, backend single") {
  dist::init();
  dist::init();  // idempotent
  CHECK(dist::rank() == 0);
  CHECK(dist::world_size() == 1);
  CHECK(dist::local_rank() == 0);
  CHECK_FALSE(dist::is_distributed());
  CHECK(dist::backend_name() == "single");
  CHECK(dist::built_with_mpi() == bool(EMBER_HAVE_MPI));
  CHECK(dist::built_with_nccl() == bool(EMBER_HAVE_NCCL));
}

TEST_CASE("the world of one: every collective is the identity") {
  for (DType d : {DType::Float32, DType::Float64, DType::Int64}) {
    Tensor t = arange(0, 7, 1, TensorOptions{d});
    Tensor ref = t.clone();
    dist::all_reduce(t);
    CHECK(equal(t, ref));
    if (is_floating(d)) {
      auto work = dist::all_reduce_async(t, dist::ReduceOp::Average);
      work->wait();
      CHECK(work->done());
      CHECK(equal(t, ref));
    }
    dist::broadcast(t, 0);
    CHECK(equal(t, ref));
    Tensor g = dist::all_gather(t);
    CHECK(g.shape() == Shape{1, 7});
    CHECK(equal(g.squeeze(0), ref));
  }
  dist::barrier();
}

TEST_CASE("the world of one: bad arguments are clear errors") {
  CHECK_THROWS_WITH(dist::all_reduce(Tensor()), Catch::Contains("all_reduce: the tensor is undefined"));
  Tensor m = zeros({3, 4}).transpose(0, 1);
  CHECK_THROWS_WITH(dist::all_reduce(m), Catch::Contains("must be contiguous"));
  CHECK_THROWS_WITH(dist::broadcast(m), Catch::Contains("broadcast: the tensor must be contiguous"));
  CHECK_THROWS_WITH(dist::all_gather(m), Catch::Contains("all_gather: the tensor must be contiguous"));
  CHECK_THROWS_WITH(dist::broadcast(zeros({2}), 1), Catch::Contains("root 1 is not a rank of a world of 1"));
  CHECK_THROWS_AS(dist::all_reduce(zeros({2}, TensorOptions{DType::UInt8})), DTypeError);
  CHECK_THROWS_WITH(dist::all_reduce(zeros({2}, TensorOptions{DType::UInt8})),
                    Catch::Contains("all_reduce: dtype uint8 is not supported"));
  CHECK_THROWS_WITH(dist::all_reduce(zeros({2}, TensorOptions{DType::Int64}), dist::ReduceOp::Average),
                    Catch::Contains("average of a int64 tensor is not supported"));
}

TEST_CASE("set_timeout rejects a timeout <= 0") {
  const auto before = dist::timeout();
  CHECK(before.count() > 0);
  CHECK_THROWS_WITH(dist::set_timeout(std::chrono::milliseconds(0)), Catch::Contains("must be positive, got 0 ms"));
  CHECK_THROWS_AS(dist::set_timeout(std::chrono::milliseconds(-5)), ValueError);
  dist::set_timeout(std::chrono::milliseconds(1234));
  CHECK(dist::timeout().count() == 1234);
  dist::set_timeout(before);
}
