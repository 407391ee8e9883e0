// ember-bench-micro: CPU micro-benchmarks of single ops, the Ember side of
// bench/cpu_micro.sh (bench/torch_micro.py runs the same cases in PyTorch).
//
// Each case goes the llm.c way: build the inputs, run the op once and check
// it against a plain reference (matmul: a few entries in float64; add:
// every element; sum: a float64 accumulation; softmax: a few rows in
// float64), then warm up, then time `repeat` samples and report the median.
// A sample runs the op `inner` times back to back, with `inner` chosen so a
// sample lasts at least --min-sample-ms (tiny matmuls would otherwise be
// timed at the clock's resolution); the reported time is per call.
//
//   GFLOP/s = 2 M N K / median                  (matmul)
//   GB/s    = (bytes read + bytes written) / median, counting each input
//             and output once (add: 12 B, sum: 4 B, softmax: 8 B per element)
//
// CSV rows: framework,config,case,shape,threads,median_ms,gflops,gbps.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <Eigen/Core>

#include <ember/ember.h>
#include <ember/core/storage.h>
#if __has_include(<ember/core/parallel.h>)
#include <ember/core/parallel.h>
#define EMBER_BENCH_HAS_THREADS 1
#else
#define EMBER_BENCH_HAS_THREADS 0
#endif

namespace {

using namespace ember;
using Clock = std::chrono::steady_clock;

// A prepared case: the timed call, its one-off validation (an empty string
// when the result is right), and the work it does.
struct Prepared {
  std::function<void()> run;
  std::function<std::string()> check;
  double flops = 0, bytes = 0;
};

struct Case {
  std::string name, shape;
  std::function<Prepared()> prepare;
};

const int64_t kStreamN = int64_t{1} << 24;  // 16M floats, 64 MiB per tensor

// Uniform in [lo, hi), float32, from a fixed seed so every run sees the same data.
Tensor uniform(const Shape& shape, double lo, double hi, uint64_t seed) {
  Generator gen(seed);
  Tensor t = rand(shape, {}, &gen);
  return lo == 0 && hi == 1 ? t : t * (hi - lo) + lo;
}

// c = a @ b for a (M, K) and b given as its (N, K) transpose's storage when
// `b_transposed` (the LeNet layers multiply by weight.t(), a strided view,
// as nn::Linear and conv2d do).
Case matmul_case(std::string name, int64_t m, int64_t k, int64_t n, bool b_transposed) {
  std::string shape = std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
  return {std::move(name), shape, [=] {
            Tensor a = uniform({m, k}, -1, 1, 1);
            Tensor b = b_transposed ? uniform({n, k}, -1, 1, 2).t() : uniform({k, n}, -1, 1, 2);
            Prepared p;
            p.run = [a, b] { (void)matmul(a, b); };
            p.check = [a, b, m, k, n] {
              Tensor c = matmul(a, b);
              const Tensor bc = contiguous(b);
              const float *pa = a.data_ptr<float>(), *pb = bc.data_ptr<float>(), *pc = c.data_ptr<float>();
              // 16 entries spread over the output, corners included.
              for (int s = 0; s < 16; ++s) {
                const int64_t i = (s / 4) * (m - 1) / 3, j = (s % 4) * (n - 1) / 3;
                double want = 0, scale = 0;
                for (int64_t x = 0; x < k; ++x) {
                  want += double(pa[i * k + x]) * pb[x * n + j];
                  scale += std::abs(double(pa[i * k + x]) * pb[x * n + j]);
                }
                if (std::abs(pc[i * n + j] - want) > 1e-5 * scale + 1e-6)
                  return "c[" + std::to_string(i) + "," + std::to_string(j) + "] = " + std::to_string(pc[i * n + j]) +
                         ", float64 reference " + std::to_string(want);
              }
              return std::string();
            };
            p.flops = 2.0 * m * n * k;
            return p;
          }};
}

// Every element of c equals a[i] + b[i] computed in float (exact: one rounding).
std::string check_add(const Tensor& a, const Tensor& b, const Tensor& c) {
  const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>(), *pc = c.data_ptr<float>();
  for (int64_t i = 0; i < a.numel(); ++i)
    if (pc[i] != pa[i] + pb[i]) return "c[" + std::to_string(i) + "] = " + std::to_string(pc[i]) + ", expected " +
                                       std::to_string(pa[i] + pb[i]);
  return "";
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (int64_t n : {64, 128, 256, 512, 1024, 2048})
    cases.push_back(matmul_case("matmul_" + std::to_string(n), n, n, n, false));
  // LeNet at batch 64, forward GEMMs (see examples/mnist/models.cpp and
  // autograd/ops/conv.cpp: conv = im2col rows (N*L, C*kh*kw) @ weight^T).
  cases.push_back(matmul_case("lenet_conv1", 64 * 28 * 28, 1 * 5 * 5, 6, true));   // 28x28 out, pad 2
  cases.push_back(matmul_case("lenet_conv2", 64 * 10 * 10, 6 * 5 * 5, 16, true));  // 14x14 in, 10x10 out
  cases.push_back(matmul_case("lenet_fc1", 64, 400, 120, true));
  cases.push_back(matmul_case("lenet_fc2", 64, 120, 84, true));
  cases.push_back(matmul_case("lenet_fc3", 64, 84, 10, true));

  const std::string stream_shape = std::to_string(kStreamN);
  cases.push_back({"add_alloc", stream_shape, [] {
                     Tensor a = uniform({kStreamN}, -1, 1, 3), b = uniform({kStreamN}, -1, 1, 4);
                     return Prepared{[a, b] { (void)add(a, b); }, [a, b] { return check_add(a, b, add(a, b)); }, 0,
                                     12.0 * kStreamN};
                   }});
  cases.push_back({"add_out", stream_shape, [] {
                     Tensor a = uniform({kStreamN}, -1, 1, 3), b = uniform({kStreamN}, -1, 1, 4);
                     Tensor c = zeros({kStreamN});
                     return Prepared{[a, b, c]() mutable { add_out(c, a, b); },
                                     [a, b, c]() mutable { return check_add(a, b, add_out(c, a, b)); }, 0, 12.0 * kStreamN};
                   }});
  cases.push_back({"sum", stream_shape, [] {
                     Tensor a = uniform({kStreamN}, 0, 1, 5);
                     auto check = [a] {
                       const float* pa = a.data_ptr<float>();
                       double want = 0;
                       for (int64_t i = 0; i < a.numel(); ++i) want += pa[i];
                       const double got = sum(a).item<double>();
                       if (std::abs(got - want) > 1e-5 * want)
                         return "sum = " + std::to_string(got) + ", float64 reference " + std::to_string(want);
                       return std::string();
                     };
                     return Prepared{[a] { (void)sum(a); }, check, 0, 4.0 * kStreamN + 4};
                   }});
  cases.push_back({"softmax", "4096x1000", [] {
                     const int64_t rows = 4096, cols = 1000;
                     Tensor a = uniform({rows, cols}, -5, 5, 6);
                     auto check = [a, cols] {
                       Tensor y = softmax(a, 1);
                       const float *pa = a.data_ptr<float>(), *py = y.data_ptr<float>();
                       for (int64_t r : {int64_t{0}, int64_t{1}, int64_t{2047}, int64_t{4095}}) {
                         double mx = -INFINITY, z = 0;
                         for (int64_t j = 0; j < cols; ++j) mx = std::max(mx, double(pa[r * cols + j]));
                         for (int64_t j = 0; j < cols; ++j) z += std::exp(pa[r * cols + j] - mx);
                         for (int64_t j = 0; j < cols; ++j) {
                           const double want = std::exp(pa[r * cols + j] - mx) / z;
                           if (std::abs(py[r * cols + j] - want) > 1e-6 + 1e-4 * want)
                             return "softmax[" + std::to_string(r) + "," + std::to_string(j) + "] = " +
                                    std::to_string(py[r * cols + j]) + ", float64 reference " + std::to_string(want);
                         }
                       }
                       return std::string();
                     };
                     return Prepared{[a] { (void)softmax(a, 1); }, check, 0, 8.0 * rows * cols};
                   }});
  // Small ops: a few hundred elements, so the time is the per-call cost of
  // dispatch (checks, allocation, the Backend call, the profiler's off
  // switch), not the arithmetic. The dispatch refactor's rule: these stay
  // within 2% (bench/backends_speed.sh --micro).
  const int64_t kSmall = 256;
  const std::string small_shape = std::to_string(kSmall);
  cases.push_back({"small_add", small_shape, [=] {
                     Tensor a = uniform({kSmall}, -1, 1, 3), b = uniform({kSmall}, -1, 1, 4);
                     return Prepared{[a, b] { (void)add(a, b); }, [a, b] { return check_add(a, b, add(a, b)); }, 0,
                                     12.0 * kSmall};
                   }});
  cases.push_back({"small_add_", small_shape, [=] {
                     Tensor a = uniform({kSmall}, -1, 1, 3), b = uniform({kSmall}, -1, 1, 4);
                     return Prepared{[a, b]() mutable { a.add_(b); }, [] { return std::string(); }, 0, 12.0 * kSmall};
                   }});
  cases.push_back({"small_mul_scalar", small_shape, [=] {
                     Tensor a = uniform({kSmall}, -1, 1, 3);
                     return Prepared{[a] { (void)(a * 0.5); }, [] { return std::string(); }, 0, 8.0 * kSmall};
                   }});
  cases.push_back({"small_relu", small_shape, [=] {
                     Tensor a = uniform({kSmall}, -1, 1, 3);
                     return Prepared{[a] { (void)relu(a); }, [] { return std::string(); }, 0, 8.0 * kSmall};
                   }});
  cases.push_back({"small_sum", small_shape, [=] {
                     Tensor a = uniform({kSmall}, 0, 1, 5);
                     return Prepared{[a] { (void)sum(a); }, [] { return std::string(); }, 0, 4.0 * kSmall + 4};
                   }});
  cases.push_back({"small_softmax", "8x32", [] {
                     Tensor a = uniform({8, 32}, -5, 5, 6);
                     return Prepared{[a] { (void)softmax(a, 1); }, [] { return std::string(); }, 0, 8.0 * 256};
                   }});
  cases.push_back(matmul_case("small_matmul", 8, 8, 8, false));
  return cases;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Timing {
  double median_s = 0, min_s = 0, max_s = 0;
  int inner = 1, repeat = 0;
};

// Slow calls (a 2048^3 GEMM in reference BLAS takes seconds) get fewer
// samples, never fewer than 3, so that one case stays within max_case_s.
Timing time_case(const Prepared& p, int warmup, int repeat, double min_sample_s, double max_case_s) {
  auto t0 = Clock::now();
  p.run();
  const double once = std::max(seconds_since(t0), 1e-9);
  Timing t;
  t.inner = static_cast<int>(std::clamp(std::ceil(min_sample_s / once), 1.0, 1e6));
  const int affordable = static_cast<int>(max_case_s / (once * t.inner));
  warmup = std::min(warmup, std::max(1, affordable / 4));
  repeat = std::clamp(affordable - warmup, std::min(3, repeat), repeat);
  t.repeat = repeat;
  for (int w = 0; w < warmup; ++w)
    for (int i = 0; i < t.inner; ++i) p.run();
  std::vector<double> samples;
  for (int r = 0; r < repeat; ++r) {
    t0 = Clock::now();
    for (int i = 0; i < t.inner; ++i) p.run();
    samples.push_back(seconds_since(t0) / t.inner);
  }
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  t.median_s = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  t.min_s = samples.front();
  t.max_s = samples.back();
  return t;
}

const char* simd_name() {
#if defined(__AVX512F__)
  return "avx512f";
#elif defined(__AVX2__)
  return "avx2";
#else
  return "sse2";
#endif
}

// One JSON object describing this binary, for bench/summarize_cpu.py.
void print_info() {
  std::printf("{\"ember_version\": \"%s\", \"build_type\": \"%s\", \"compiler\": \"%s\", \"simd\": \"%s\", "
              "\"eigen\": \"%d.%d.%d\", \"thread_pool\": %s}\n",
              EMBER_VERSION, EMBER_BUILD_TYPE,
#if defined(__clang__)
              "clang " __clang_version__,
#elif defined(__GNUC__)
              "gcc " __VERSION__,
#else
              "unknown",
#endif
              simd_name(), EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION,
              EMBER_BENCH_HAS_THREADS ? "true" : "false");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ember-bench-micro: Ember CPU micro-benchmarks (matmul, LeNet GEMMs, add, sum, softmax)"};
  std::string filter, csv_path, config;
  int repeat = 15, warmup = 3, threads = 1;
  double min_sample_ms = 20, max_case_s = 30;
  bool list = false, info = false;
  app.add_option("--filter", filter, "run only cases whose name matches this regex (e.g. 'matmul_(64|128)$|add')");
  app.add_option("--repeat", repeat, "timed samples per case; the median is reported")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed samples first")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--threads", threads, "CPU threads (needs ember::set_num_threads; 1 otherwise)")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--min-sample-ms", min_sample_ms, "a sample repeats the op until it lasts this long")->capture_default_str();
  app.add_option("--max-case-s", max_case_s, "fewer repeats (at least 3) for cases slower than this in total")->capture_default_str();
  app.add_option("--csv", csv_path, "append CSV rows here (header written if the file is new)");
  app.add_option("--config", config, "the CSV's config column (default: cache-on, or cache-off under EMBER_CPU_CACHE=0)");
  app.add_flag("--list", list, "list the cases and exit");
  app.add_flag("--info", info, "print this build's versions and features as JSON and exit");
  CLI11_PARSE(app, argc, argv);

  if (info) {
    print_info();
    return 0;
  }
  const std::regex re(filter.empty() ? ".*" : filter);
  std::vector<Case> cases;
  for (Case& c : all_cases())
    if (std::regex_search(c.name, re)) cases.push_back(std::move(c));
  if (list) {
    for (const Case& c : cases) std::printf("%-12s %s\n", c.name.c_str(), c.shape.c_str());
    return 0;
  }
  if (cases.empty()) {
    std::fprintf(stderr, "error: no case matches --filter '%s' (see --list)\n", filter.c_str());
    return 2;
  }
#if EMBER_BENCH_HAS_THREADS
  set_num_threads(threads);
#else
  if (threads != 1) {
    std::fprintf(stderr, "error: --threads %d asked, but this Ember has no thread pool (ember/core/parallel.h)\n", threads);
    return 2;
  }
#endif
  if (config.empty()) {
    const char* env = std::getenv("EMBER_CPU_CACHE");
    config = env && std::string(env) == "0" ? "cache-off" : "cache-on";
  }

  std::FILE* csv = nullptr;
  if (!csv_path.empty()) {
    const bool fresh = !std::filesystem::exists(csv_path) || std::filesystem::file_size(csv_path) == 0;
    csv = std::fopen(csv_path.c_str(), "a");
    if (!csv) {
      std::fprintf(stderr, "error: cannot open %s for appending\n", csv_path.c_str());
      return 2;
    }
    if (fresh) std::fprintf(csv, "framework,config,case,shape,threads,median_ms,gflops,gbps\n");
  }

  std::printf("ember %s (%s, %s), config %s, threads %d, warmup %d, repeat %d\n", EMBER_VERSION, EMBER_BUILD_TYPE,
              simd_name(), config.c_str(), threads, warmup, repeat);
  std::printf("%-12s %-14s %5s %6s %10s %10s %10s %9s %8s\n", "case", "shape", "reps", "inner", "median_ms", "min_ms", "max_ms",
              "GFLOP/s", "GB/s");
  int failures = 0;
  for (const Case& c : cases) {
    try {
      Prepared p = c.prepare();
      if (std::string err = p.check(); !err.empty()) {
        std::fprintf(stderr, "FAILED %s (%s): %s\n", c.name.c_str(), c.shape.c_str(), err.c_str());
        ++failures;
        continue;
      }
      Timing t = time_case(p, warmup, repeat, min_sample_ms / 1e3, max_case_s);
      const double gflops = p.flops > 0 ? p.flops / t.median_s / 1e9 : 0;
      const double gbps = p.bytes > 0 ? p.bytes / t.median_s / 1e9 : 0;
      char gf[32] = "", gb[32] = "";
      if (gflops > 0) std::snprintf(gf, sizeof gf, "%.1f", gflops);
      if (gbps > 0) std::snprintf(gb, sizeof gb, "%.1f", gbps);
      std::printf("%-12s %-14s %5d %6d %10.4f %10.4f %10.4f %9s %8s\n", c.name.c_str(), c.shape.c_str(), t.repeat, t.inner,
                  t.median_s * 1e3, t.min_s * 1e3, t.max_s * 1e3, gf, gb);
      std::fflush(stdout);
      if (csv) {
        std::fprintf(csv, "ember,%s,%s,%s,%d,%.6f,", config.c_str(), c.name.c_str(), c.shape.c_str(), threads,
                     t.median_s * 1e3);
        if (gflops > 0) std::fprintf(csv, "%.3f", gflops);
        std::fprintf(csv, ",");
        if (gbps > 0) std::fprintf(csv, "%.3f", gbps);
        std::fprintf(csv, "\n");
        std::fflush(csv);
      }
    } catch (const ember::Error& e) {
      std::fprintf(stderr, "FAILED %s (%s): %s\n", c.name.c_str(), c.shape.c_str(), e.what());
      ++failures;
    }
  }
  const CpuMemoryStats m = cpu_memory_stats();
  std::printf("allocator: %zu cache hits, %zu misses, peak %.1f MiB\n", m.cache_hits, m.cache_misses, m.peak / 1048576.0);
  if (csv) std::fclose(csv);
  return failures ? 1 : 0;
}
