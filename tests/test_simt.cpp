// The SIMT emulator itself (kernels/simt, Note [SIMT emulator]): that CUDA
// kernels written here run as they would on a GPU (indices, shared memory,
// barriers, shuffles, votes, atomics), and that its checks bite: a missing
// __syncthreads gives a wrong answer under one of the schedules CI uses, a
// divergent or partial barrier and a launch over the limits are errors, and
// (under the sanitizer preset, through separate CTest entries) an
// out-of-bounds store and a misaligned vector load are caught.
#include <launch.h>

#include <numeric>
#include <vector>

#include "support.h"

using namespace ember;
using ember::simt::launch;

namespace {

// Runs a test under one schedule, restoring the previous one after.
struct UseSchedule {
  simt::Schedule old = simt::schedule();
  explicit UseSchedule(simt::Schedule s) { simt::set_schedule(s); }
  ~UseSchedule() { simt::set_schedule(old); }
};
const std::vector<simt::Schedule> kSchedules = {
    {simt::ScheduleKind::Forward, 0}, {simt::ScheduleKind::Reverse, 0}, {simt::ScheduleKind::Random, 1}};

// ---- kernels ----

__global__ void add_kernel(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = a[i] + b[i];
}

__global__ void index_kernel(int* out) {  // out[linear global thread] = encoded indices
  const unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned per_block = blockDim.x * blockDim.y * blockDim.z;
  out[b * per_block + t] = int(threadIdx.x + 10 * threadIdx.y + 100 * threadIdx.z + 1000 * blockIdx.x +
                               10000 * blockIdx.y + 100000 * blockIdx.z);
}

// A block sum in shared memory: the tree halves the active threads, with a
// barrier after every step. `with_barriers` false drops them: the bug the
// schedules must expose.
template <bool with_barriers>
__global__ void block_sum_kernel(const float* x, float* out) {
  __shared__ float partial[256];
  const unsigned t = threadIdx.x;
  partial[t] = x[blockIdx.x * blockDim.x + t];
  if (with_barriers) __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (t < stride) partial[t] += partial[t + stride];
    if (with_barriers) __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = partial[0];
}

// One block sums several rows in turn, reusing its shared memory: each warp
// sums its part by shuffles, warp 0 adds the warps' sums. `end_barrier`
// false drops the barrier at the end of each pass (the bug: a warp that runs
// ahead into the next row overwrites a sum that warp 0 has not read yet).
template <bool end_barrier>
__global__ void rows_sum_kernel(const float* x, float* out, int rows) {
  __shared__ float warp_sums[32];
  for (int row = 0; row < rows; ++row) {
    float v = x[row * blockDim.x + threadIdx.x];
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xFFFFFFFFu, v, offset);
    if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
      v = threadIdx.x < blockDim.x / 32 ? warp_sums[threadIdx.x] : 0.0f;
      for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xFFFFFFFFu, v, offset);
      if (threadIdx.x == 0) out[row] = v;
    }
    if (end_barrier) __syncthreads();
  }
}

__global__ void dynamic_shared_kernel(const int* x, int* out, int n) {
  EMBER_DYNAMIC_SHARED(int, tile);
  const int t = threadIdx.x;
  tile[t] = x[t];
  __syncthreads();
  out[t] = tile[n - 1 - t];  // reversed through shared memory
}

__global__ void warp_sum_kernel(const float* x, float* out) {
  float v = x[threadIdx.x];
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xFFFFFFFFu, v, offset);
  if (threadIdx.x % 32 == 0) out[threadIdx.x / 32] = v;
}

__global__ void butterfly_kernel(const double* x, double* out) {  // every lane gets the warp's sum
  double v = x[threadIdx.x];
  for (int m = 16; m > 0; m /= 2) v += __shfl_xor_sync(0xFFFFFFFFu, v, m);
  out[threadIdx.x] = v;
}

__global__ void vote_kernel(const int* x, unsigned* ballot, int* any, int* all) {
  const bool p = x[threadIdx.x] > 0;
  const unsigned b = __ballot_sync(0xFFFFFFFFu, p);
  const bool a = __any_sync(0xFFFFFFFFu, p), l = __all_sync(0xFFFFFFFFu, p);
  if (threadIdx.x == 0) {
    *ballot = b;
    *any = a;
    *all = l;
  }
}

__global__ void shfl_width_kernel(int* out) {  // broadcast lane 0 of each 8-lane segment
  out[threadIdx.x] = __shfl_sync(0xFFFFFFFFu, int(threadIdx.x), 0, 8);
}

__global__ void atomic_count_kernel(unsigned long long* counter, double* total) {
  atomicAdd(counter, 1ULL);
  atomicAdd(total, 0.5);
}

__global__ void divergent_barrier_kernel(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

__global__ void early_return_kernel(int* out, int n) {
  if (int(threadIdx.x) >= n) return;  // the classic: a barrier after an early return
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void partial_shuffle_kernel(int* out) {
  if (threadIdx.x < 16) out[threadIdx.x] = __shfl_down_sync(0xFFFFFFFFu, int(threadIdx.x), 1);
}

// Lanes 16..31 shuffle among themselves in a branch, then the whole warp
// does: valid, whichever half reaches its shuffle first.
__global__ void nested_masks_kernel(int* out) {
  int v = int(threadIdx.x);
  if (threadIdx.x >= 16) v = __shfl_down_sync(0xFFFF0000u, v, 1, 16);  // within the upper half
  out[threadIdx.x] = __shfl_sync(0xFFFFFFFFu, v, 31);                  // lane 31's, to every lane
}

__global__ void divergent_shuffle_kernel(int* out) {  // two full-mask shuffles, one per branch
  int v = int(threadIdx.x);
  if (threadIdx.x < 8) v = __shfl_xor_sync(0xFFFFFFFFu, v, 1);
  else v = __shfl_xor_sync(0xFFFFFFFFu, v, 2);
  out[threadIdx.x] = v;
}

__global__ void throwing_kernel(const int64_t* index, int64_t size) {
  EMBER_CHECK(index[threadIdx.x] < size, IndexError, "gather_kernel: index ", index[threadIdx.x],
              " is out of range for size ", size);
}

__global__ void out_of_bounds_kernel(float* x, int n) { x[n + threadIdx.x] = 1.0f; }

__global__ void misaligned_kernel(const float* x, float* out) {
  const float4 v = *reinterpret_cast<const float4*>(x + 1);  // 4-byte aligned, not 16
  out[0] = v.x + v.y + v.z + v.w;
}

// cp.async (Note [cp.async on the emulator]): each thread copies x[t] (and,
// with a zfill, zeros) into shared memory in two groups, and records what it
// sees before and after each wait. mode 0: as it should; mode 1: a 12-byte
// copy; mode 2: a misaligned 16-byte copy; mode 3: returns without waiting.
__global__ void pipeline_kernel(const float* x, float* seen, int mode) {
  alignas(16) __shared__ float stage[2][64];
  const int t = threadIdx.x;
  stage[0][t] = -1, stage[1][t] = -1;
  __syncthreads();
  if (mode == 1) __pipeline_memcpy_async(&stage[0][t], x + t, 12);
  if (mode == 2 && t == 0) __pipeline_memcpy_async(&stage[0][0], x + 1, 16);
  __pipeline_memcpy_async(&stage[0][t], x + t, 4);
  __pipeline_commit();
  __pipeline_memcpy_async(&stage[1][t], x + t, 4, 4);  // zero-filled
  __pipeline_commit();
  if (mode == 3) return;
  seen[t] = stage[0][t];  // not waited for yet: the old value
  __pipeline_wait_prior(1);
  seen[64 + t] = stage[0][t];  // the first group has landed
  seen[128 + t] = stage[1][t];  // the second has not
  __pipeline_wait_prior(0);
  seen[192 + t] = stage[1][t];
}

}  // namespace

TEST_CASE("a grid-stride kernel covers every element of a size no block size divides", "[simt]") {
  const int64_t n = 1000;
  std::vector<float> a(n), b(n), out(n, -1);
  std::iota(a.begin(), a.end(), 0.0f);
  std::iota(b.begin(), b.end(), 1.0f);
  launch(add_kernel, dim3(3), dim3(128), 0, nullptr, a.data(), b.data(), out.data(), n);
  for (int64_t i = 0; i < n; ++i) REQUIRE(out[i] == a[i] + b[i]);
}

TEST_CASE("threadIdx, blockIdx, blockDim and gridDim in three dimensions", "[simt]") {
  const dim3 grid(2, 3, 2), block(4, 2, 3);
  std::vector<int> out(12 * 24, -1);
  launch(index_kernel, grid, block, 0, nullptr, out.data());
  int checked = 0;
  for (unsigned bz = 0; bz < 2; ++bz)
    for (unsigned by = 0; by < 3; ++by)
      for (unsigned bx = 0; bx < 2; ++bx)
        for (unsigned tz = 0; tz < 3; ++tz)
          for (unsigned ty = 0; ty < 2; ++ty)
            for (unsigned tx = 0; tx < 4; ++tx) {
              const unsigned b = bx + 2 * (by + 3 * bz), t = tx + 4 * (ty + 2 * tz);
              CHECK(out[b * 24 + t] == int(tx + 10 * ty + 100 * tz + 1000 * bx + 10000 * by + 100000 * bz));
              ++checked;
            }
  CHECK(checked == 288);
}

TEST_CASE("a block reduction with its barriers is right under every schedule", "[simt][schedule]") {
  std::vector<float> x(4 * 256);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 7) - 3.0f;
  for (const simt::Schedule& s : kSchedules) {
    UseSchedule use(s);
    std::vector<float> out(4, 0);
    launch(block_sum_kernel<true>, dim3(4), dim3(256), 0, nullptr, x.data(), out.data());
    for (int b = 0; b < 4; ++b) CHECK(out[b] == std::accumulate(x.begin() + b * 256, x.begin() + (b + 1) * 256, 0.0f));
  }
}

TEST_CASE("a missing __syncthreads gives a wrong sum under one of the schedules CI uses", "[simt][schedule][bites]") {
  std::vector<float> x(256, 1.0f);
  int wrong = 0;
  for (const simt::Schedule& s : kSchedules) {
    UseSchedule use(s);
    std::vector<float> out(1, 0);
    launch(block_sum_kernel<false>, dim3(1), dim3(256), 0, nullptr, x.data(), out.data());
    INFO("schedule " << int(s.kind) << ": sum " << out[0]);
    wrong += out[0] != 256.0f;
  }
  CHECK(wrong > 0);
}

TEST_CASE("shared memory reused in a loop needs a barrier at the end of each pass, and the schedules show it",
          "[simt][schedule][bites]") {
  const int rows = 4;
  std::vector<float> x(rows * 256);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i / 256 + 1);  // row r sums to 256 (r + 1)
  int wrong = 0;
  for (const simt::Schedule& s : kSchedules) {
    UseSchedule use(s);
    std::vector<float> out(rows, 0);
    launch(rows_sum_kernel<true>, dim3(1), dim3(256), 0, nullptr, x.data(), out.data(), rows);
    for (int r = 0; r < rows; ++r) CHECK(out[r] == 256.0f * float(r + 1));
    launch(rows_sum_kernel<false>, dim3(1), dim3(256), 0, nullptr, x.data(), out.data(), rows);
    for (int r = 0; r < rows; ++r) wrong += out[r] != 256.0f * float(r + 1);
  }
  CHECK(wrong > 0);
}

TEST_CASE("dynamic shared memory is the launch's shared_bytes, one block's own", "[simt]") {
  const int n = 64;
  std::vector<int> x(n), out(n);
  std::iota(x.begin(), x.end(), 0);
  launch(dynamic_shared_kernel, dim3(1), dim3(n), n * sizeof(int), nullptr, x.data(), out.data(), n);
  for (int i = 0; i < n; ++i) CHECK(out[i] == n - 1 - i);
}

TEST_CASE("warp shuffles, votes and widths follow CUDA's semantics", "[simt][warp]") {
  for (const simt::Schedule& s : kSchedules) {
    UseSchedule use(s);
    std::vector<float> x(64);
    std::iota(x.begin(), x.end(), 1.0f);
    std::vector<float> sums(2);
    launch(warp_sum_kernel, dim3(1), dim3(64), 0, nullptr, x.data(), sums.data());
    CHECK(sums[0] == 528.0f);   // 1 + ... + 32
    CHECK(sums[1] == 1552.0f);  // 33 + ... + 64
    std::vector<double> y(32), all(32);
    for (int i = 0; i < 32; ++i) y[i] = 0.25 * i;
    launch(butterfly_kernel, dim3(1), dim3(32), 0, nullptr, y.data(), all.data());
    for (double v : all) CHECK(v == 124.0);
    std::vector<int> votes(32, 0);
    votes[3] = votes[17] = 1;
    unsigned ballot = 0;
    int any = -1, every = -1;
    launch(vote_kernel, dim3(1), dim3(32), 0, nullptr, votes.data(), &ballot, &any, &every);
    CHECK(ballot == ((1u << 3) | (1u << 17)));
    CHECK(any == 1);
    CHECK(every == 0);
    std::vector<int> segments(32);
    launch(shfl_width_kernel, dim3(1), dim3(32), 0, nullptr, segments.data());
    for (int i = 0; i < 32; ++i) CHECK(segments[i] == i / 8 * 8);
  }
}

TEST_CASE("atomics from many blocks add up exactly", "[simt][atomics]") {
  unsigned long long counter = 0;
  double total = 0;
  launch(atomic_count_kernel, dim3(37), dim3(96), 0, nullptr, &counter, &total);
  CHECK(counter == 37ull * 96);
  CHECK(total == 37 * 96 * 0.5);
}

TEST_CASE("a divergent __syncthreads is an error naming both places", "[simt][bites]") {
  std::vector<int> out(32);
  std::string message;
  try {
    launch(divergent_barrier_kernel, dim3(1), dim3(32), 0, nullptr, out.data());
  } catch (const DeviceError& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("divergent __syncthreads") != std::string::npos);
  const size_t first = message.find("test_simt.cpp:");
  REQUIRE(first != std::string::npos);
  CHECK(message.find("test_simt.cpp:", first + 1) != std::string::npos);  // both barriers, each with its line
}

TEST_CASE("a barrier after an early return is an error, as is a shuffle a lane never reaches", "[simt][bites]") {
  std::vector<int> out(64);
  REQUIRE_THROWS_WITH_ALL(launch(early_return_kernel, dim3(1), dim3(64), 0, nullptr, out.data(), 40), DeviceError,
                          "reached by only part of the block", "returned without reaching it");
  launch(early_return_kernel, dim3(1), dim3(64), 0, nullptr, out.data(), 64);  // no thread returns early: fine
  REQUIRE_THROWS_WITH_ALL(launch(partial_shuffle_kernel, dim3(1), dim3(32), 0, nullptr, out.data()), DeviceError,
                          "returned, but lane", "waits for it");
}

TEST_CASE("lanes of a smaller mask may shuffle first, but lanes of one mask at two shuffles are an error",
          "[simt][warp][bites]") {
  for (const simt::Schedule& s : kSchedules) {
    UseSchedule use(s);
    std::vector<int> out(32, -1);
    launch(nested_masks_kernel, dim3(1), dim3(32), 0, nullptr, out.data());
    CHECK(out == std::vector<int>(32, 31));  // lane 31 keeps its own value: lane 32 of a 16-wide segment is absent
    REQUIRE_THROWS_WITH_ALL(launch(divergent_shuffle_kernel, dim3(1), dim3(32), 0, nullptr, out.data()), DeviceError,
                            "divergent warp operations", "test_simt.cpp:");
  }
}

TEST_CASE("a launch over the limits is refused, naming the launch", "[simt][bites]") {
  std::vector<float> a(8), b(8), out(8);
  REQUIRE_THROWS_WITH_ALL(launch(add_kernel, dim3(1), dim3(2048), 0, nullptr, a.data(), b.data(), out.data(), 8),
                          DeviceError, "block (2048, 1, 1) is over the limits", "test_simt.cpp");
  REQUIRE_THROWS_WITH_ALL(launch(add_kernel, dim3(1), dim3(8, 8, 128), 0, nullptr, a.data(), b.data(), out.data(), 8),
                          DeviceError, "over the limits");
  REQUIRE_THROWS_WITH_ALL(launch(add_kernel, dim3(0), dim3(8), 0, nullptr, a.data(), b.data(), out.data(), 8),
                          DeviceError, "grid (0, 1, 1)");
  std::vector<int> x(32), y(32);
  REQUIRE_THROWS_WITH_ALL(launch(dynamic_shared_kernel, dim3(1), dim3(32), 64 * 1024, nullptr, x.data(), y.data(), 32),
                          DeviceError, "65536 bytes of dynamic shared memory", "48 KiB unless it opts in");
  simt::set_max_dynamic_shared_memory(reinterpret_cast<const void*>(dynamic_shared_kernel), 100 * 1024);
  launch(dynamic_shared_kernel, dim3(1), dim3(32), 64 * 1024, nullptr, x.data(), y.data(), 32);  // opted in
  simt::set_max_dynamic_shared_memory(reinterpret_cast<const void*>(dynamic_shared_kernel), 48 * 1024);
}

TEST_CASE("an error inside a kernel reaches the launching thread", "[simt]") {
  std::vector<int64_t> index = {0, 1, 7, 2};
  REQUIRE_THROWS_WITH_ALL(launch(throwing_kernel, dim3(1), dim3(4), 0, nullptr, index.data(), int64_t(5)), IndexError,
                          "gather_kernel", "index 7");
  std::vector<float> a(4), b(4), out(4);
  launch(add_kernel, dim3(1), dim3(4), 0, nullptr, a.data(), b.data(), out.data(), int64_t(4));  // still usable
}

TEST_CASE("EMBER_SIMT_SCHEDULE values parse, and bad ones name the variable", "[simt][schedule]") {
  CHECK(simt::parse_schedule("reverse", "X").kind == simt::ScheduleKind::Reverse);
  const simt::Schedule r = simt::parse_schedule("random:42", "X");
  CHECK((r.kind == simt::ScheduleKind::Random && r.seed == 42));
  REQUIRE_THROWS_WITH_ALL(simt::parse_schedule("random", "EMBER_SIMT_SCHEDULE"), ValueError,
                          "EMBER_SIMT_SCHEDULE=random", "forward, reverse or random:SEED");
}

// Run only by their own CTest entries under the sanitizers (tests/CMakeLists.txt),
// which expect the process to stop with ASan's or UBSan's report.
TEST_CASE("[sanitizer] an out-of-bounds store in a kernel", "[.simt_asan]") {
  std::vector<float> x(16);
  launch(out_of_bounds_kernel, dim3(1), dim3(4), 0, nullptr, x.data(), 16);
}

TEST_CASE("[sanitizer] a misaligned float4 load in a kernel", "[.simt_ubsan]") {
  alignas(16) float x[16] = {};
  float out = 0;
  static_assert(alignof(float4) == 16);
  launch(misaligned_kernel, dim3(1), dim3(1), 0, nullptr, x, &out);  // reads x + 1 as a float4
}

TEST_CASE("cp.async copies land at the wait that covers their group, and misuse is an error", "[simt][bites]") {
  std::vector<float> x(68), seen(256);
  std::iota(x.begin(), x.end(), 1.0f);
  launch(pipeline_kernel, dim3(1), dim3(64), 0, nullptr, x.data(), seen.data(), 0);
  for (int t = 0; t < 64; ++t) {
    INFO("thread " << t);
    CHECK(seen[t] == -1);           // before any wait
    CHECK(seen[64 + t] == x[t]);    // wait_prior(1): the older group
    CHECK(seen[128 + t] == -1);     // ... not the newer
    CHECK(seen[192 + t] == 0);      // wait_prior(0): the zero fill
  }
  REQUIRE_THROWS_WITH_ALL(launch(pipeline_kernel, dim3(1), dim3(64), 0, nullptr, x.data(), seen.data(), 1),
                          DeviceError, "__pipeline_memcpy_async at", "test_simt.cpp", "must be 4, 8 or 16");
  REQUIRE_THROWS_WITH_ALL(launch(pipeline_kernel, dim3(1), dim3(64), 0, nullptr, x.data(), seen.data(), 2),
                          DeviceError, "aligned to 16 bytes");
  REQUIRE_THROWS_WITH_ALL(launch(pipeline_kernel, dim3(1), dim3(64), 0, nullptr, x.data(), seen.data(), 3),
                          DeviceError, "never waited for");
}
