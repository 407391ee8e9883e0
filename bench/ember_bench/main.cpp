// ember-bench: every Ember kernel family timed against the vendor
// libraries, with one harness (docs/benchmarks.md, "ember-bench").
//
//   ember-bench --device cuda --out bench/results/gpu/ember-bench   # GPU: vs cuBLAS/cuDNN
//   ember-bench --device cpu --filter 'matmul'                     # CPU: vs Eigen and naive loops
//   ember-bench --list
//
// Each problem is checked against the CPU, and against the vendor's result,
// before it is timed (Note [A problem and its implementations]); each row is
// timed with CUDA events (or the host clock), cold, until its spread settles
// (Note [Timing a row]). The ceilings (a copy for bandwidth, the vendor's
// SGEMM for FLOP/s) are measured first, in the same run.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <regex>

#include <CLI/CLI.hpp>
#include <Eigen/Core>

#include <ember/core/parallel.h>
#include <ember/kernels/cuda.h>
#include <ember/kernels/cudnn.h>
#include <ember/version.h>
#include <ember/viz/io.h>

#include "clocks.h"
#include "common.h"
#include "problems.h"

namespace {

using namespace ember;
using namespace ember::bench;

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string version_of(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

// Reads the GPU's clock while it is busy: an idle GPU parks its clock, which
// would read as throttling (clocks.h). `work` is timed once on the device,
// then queued often enough to keep the GPU busy for about a second, longer
// than nvidia-smi takes to answer. Never throws: a clock it cannot read is
// "unknown", and the reports are still written.
GpuClocks clocks_under_load(const std::function<void()>& work, const std::string& bus_id) {
  try {
    cuda::Event start, end;
    start.record();
    work();
    end.record();
    const double ms = std::max(cuda::Event::elapsed_ms(start, end), 1e-3);
    const int n = static_cast<int>(std::min(1000.0 / ms, 100000.0));
    for (int i = 0; i < n; ++i) work();
    const GpuClocks c = read_gpu_clocks(bus_id);
    cuda::synchronize();
    return c;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember-bench: the GPU clock could not be read under load: %s\n", e.what());
    return {};
  }
}

// The micro-benchmark CSV rows of bench/cpu_micro.sh (the format
// bench/torch_micro.py writes too), for the "ember" rows.
void append_micro_csv(const std::string& path, const std::vector<Row>& rows, const std::string& config,
                      int threads) {
  const bool fresh = !std::filesystem::exists(path) || std::filesystem::file_size(path) == 0;
  std::ofstream out(path, std::ios::app);
  EMBER_CHECK(out.good(), FileError, "ember-bench: cannot append to ", path);
  if (fresh) out << "framework,config,case,shape,threads,median_ms,gflops,gbps\n";
  for (const Row& r : rows) {
    if (r.impl != "ember" || !r.ok() || r.family == "ceiling") continue;
    char line[512];
    const double gflops = r.flops > 0 && r.family != "add" && r.family != "sum" && r.family != "softmax"
                              ? r.tflops() * 1e3 : 0;
    std::snprintf(line, sizeof line, "ember,%s,%s,%s,%d,%.6f,", config.c_str(), r.name.c_str(),
                  r.shape.substr(0, r.shape.find(' ')).c_str(), threads, r.ms.median);
    out << line;
    if (gflops > 0) out << gflops;
    out << ',';
    if (r.bytes > 0 && gflops == 0) out << r.gbps();
    out << '\n';
  }
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
              "\"eigen\": \"%d.%d.%d\", \"thread_pool\": true, \"cuda\": %s}\n",
              EMBER_VERSION, EMBER_BUILD_TYPE,
#if defined(__clang__)
              "clang " __clang_version__,
#else
              "gcc " __VERSION__,
#endif
              simd_name(), EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION,
              cuda::is_built() ? "true" : "false");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ember-bench: Ember's kernels against the vendor libraries (cuBLAS/cuDNN, Eigen), checked, then timed"};
  std::string device = cuda::is_available() && !cuda::is_emulated() ? "cuda" : "cpu";
  std::string filter, out_dir, micro_csv, config;
  bool quick = false, hot = false, list = false, smoke = false;
  int threads = 0;
  double time_limit_s = 0;
  TimingOptions timing;
  app.add_option("--device", device, "cpu, or cuda (the emulator too, as a smoke run)")->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--filter", filter, "run the problems whose 'family/case' matches this regex");
  app.add_option("--out", out_dir, "write bench.csv, bench.json, bench.md and the SVG charts here");
  app.add_flag("--quick", quick, "fewer sizes, shorter rows (scripts/gpu_check.sh)");
  app.add_flag("--smoke", smoke, "tiny shapes, tiny ceilings, short rows: proves the program works (the tests, "
                                "the emulator); its numbers mean nothing");
  app.add_flag("--hot", hot, "no cache flush between repetitions (default: cold)");
  app.add_option("--max-row-s", timing.max_row_s, "time limit of one row")->capture_default_str();
  app.add_option("--noise", timing.noise_bound, "rerun until IQR/median is under this")->capture_default_str();
  app.add_option("--warmup-ms", timing.warmup_ms, "warm-up time per row")->capture_default_str();
  app.add_option("--rep-ms", timing.rep_ms, "time of a row's first batch of repetitions")->capture_default_str();
  app.add_option("--time-limit-s", time_limit_s, "start no problem after this many seconds (0: none)");
  app.add_option("--threads", threads, "CPU threads (0: Ember's default)");
  app.add_option("--micro-csv", micro_csv, "also append bench/cpu_micro.sh's CSV rows (the ember rows) here");
  app.add_option("--config", config, "the micro CSV's config column (default: cache-on, or cache-off under "
                                      "EMBER_CPU_CACHE=0)");
  app.add_flag("--list", list, "list the problems and their implementations, and exit");
  bool info = false;
  app.add_flag("--info", info, "print this build's versions and features as JSON and exit (bench/cpu_micro.sh)");
  CLI11_PARSE(app, argc, argv);
  if (info) {
    print_info();
    return 0;
  }
  timing.cold = !hot;
  if (quick) {
    timing.max_row_s = std::min(timing.max_row_s, 0.5);
    timing.rep_ms = std::min(timing.rep_ms, 50.0);
  }
  if (smoke) {
    timing.max_row_s = std::min(timing.max_row_s, 0.05);
    timing.rep_ms = std::min(timing.rep_ms, 1.0);
    timing.warmup_ms = 0;
  }
  if (threads > 0) set_num_threads(threads);
  const bool on_gpu = device == "cuda";
  if (on_gpu && !cuda::is_available()) {
    std::fprintf(stderr, "ember-bench: --device cuda, but no CUDA device (built: %s)\n",
                 cuda::is_built() ? "yes" : "no");
    return 2;
  }
  // The emulator runs kernels thousands of times slower: always the smoke shapes there.
  const bool emulated = on_gpu && cuda::is_emulated();
  const bool tiny = smoke || emulated;
  std::vector<Problem> all = on_gpu ? cuda_problems({quick || tiny, tiny}) : cpu_problems();
  const std::regex re(filter.empty() ? ".*" : filter);
  std::vector<Problem> problems;
  for (Problem& p : all)  // the case alone, as ember-bench-micro's filters were written, or family/case
    if (std::regex_search(p.name, re) || std::regex_search(p.family + "/" + p.name, re))
      problems.push_back(std::move(p));
  if (list) {
    for (const Problem& p : problems) {
      std::printf("%-18s %-24s %-28s", p.family.c_str(), p.name.c_str(), p.shape.c_str());
      for (const Impl& i : p.impls) std::printf(" %s%s", i.name.c_str(), i.vendor ? "*" : "");
      std::printf("\n");
    }
    return 0;
  }
  if (problems.empty()) {
    std::fprintf(stderr, "ember-bench: no problem matches --filter '%s' (see --list)\n", filter.c_str());
    return 2;
  }

  // The flush buffer (Note [Flushing the cache]) and the clock.
  Meta meta{{"date", utc_now()}, {"ember", std::string(EMBER_VERSION) + " (" + EMBER_BUILD_TYPE + ")"},
            {"cpu", cpu_model()}, {"threads", std::to_string(get_num_threads())}};
  RunOptions run;
  run.timing = timing;
  size_t cache = cpu_cache_bytes();
  if (on_gpu) {
    const cuda::DeviceInfo info = cuda::device_info(0);
    meta.push_back({"device", info.name});
    if (!emulated) {
      meta.push_back({"compute capability", std::to_string(info.major) + "." + std::to_string(info.minor)});
      meta.push_back({"SMs", std::to_string(info.multiprocessors)});
      meta.push_back({"L2", std::to_string(info.l2_bytes >> 20) + " MiB"});
      meta.push_back({"driver (CUDA version)", version_of(info.driver_version)});
      meta.push_back({"CUDA runtime", version_of(info.runtime_version)});
      meta.push_back({"cuDNN", cuda::vendor_built() ? cuda::cudnn_version() : "not built (no vendor rows)"});
      meta.push_back({"cuBLAS", cuda::vendor_built() ? cuda::cublas_version() : "not built (no vendor rows)"});
      cache = info.l2_bytes;
    }
    run.clock = [] { return make_event_clock(0); };
  } else {
    run.clock = [] { return std::unique_ptr<RepClock>(new HostClock); };
  }
  const Device dev = on_gpu ? Device("cuda:0") : Device("cpu");
  Tensor flush_buf = empty({static_cast<int64_t>(flush_bytes(cache) / 4)}, {.device = dev});
  float flush_value = 0;
  // Written, then read (Note [Flushing the cache]): the cache ends up full of
  // clean lines, so the timed call's misses do not also write back the
  // flush's dirty ones.
  run.flush = [flush_buf, &flush_value]() mutable {
    flush_buf.fill_(flush_value += 1);
    (void)sum(flush_buf);
  };
  char timing_text[256];
  std::snprintf(timing_text, sizeof timing_text,
                "%s, flush buffer %zu MiB, warm-up %g ms, rows up to %g s, noise bound %g (IQR/median)",
                timing.cold ? "cold" : "hot", flush_bytes(cache) >> 20, timing.warmup_ms, timing.max_row_s,
                timing.noise_bound);
  meta.push_back({"timing", timing_text});

  GpuClocks before;
  std::string bus_id;
  if (on_gpu && !emulated) {
    bus_id = cuda::device_info(0).pci_bus_id;
    before = clocks_under_load(run.flush, bus_id);
  }

  // The ceilings, measured first (Ceilings in harness/report.h).
  std::vector<Row> rows;
  Ceilings ceilings;
  {
    const int64_t n = tiny ? int64_t{1} << 14 : on_gpu ? int64_t{1} << 27 : int64_t{1} << 24;
    const Row copy = run_problem(copy_problem(dev, n), run).front();
    ceilings.copy_gbps = copy.gbps();
    const int64_t bytes = n * 4;
    ceilings.copy_source = "copy of " + (bytes >= (1 << 20) ? std::to_string(bytes >> 20) + " MiB"
                                                            : std::to_string(bytes >> 10) + " KiB");
    rows.push_back(copy);
    // The FLOP ceiling: the vendor's SGEMM on the GPU (or, without the
    // library, Ember's own default rung, said so). On the CPU, where Eigen is
    // the vendor but Ember's packed GEMM is faster and threaded, the faster
    // of the two: a ceiling a kernel can pass is not a ceiling.
    const int64_t s = tiny ? 64 : on_gpu ? (quick ? 4096 : 8192) : 2048;
    std::vector<Impl> impls;
    if (on_gpu) {
      const bool vendor = has_backend(DeviceType::CUDA, "cudnn");
      const std::string who = vendor ? "cuBLAS" : "Ember " + cuda::sgemm() + " (no vendor library)";
      impls.push_back(backend_impl(who, DeviceType::CUDA, vendor ? "cudnn" : "ember", vendor));
    } else {
      impls.push_back(backend_impl("Eigen", DeviceType::CPU, "eigen", true));
      impls.push_back(backend_impl("Ember", DeviceType::CPU, "ember", false));
    }
    for (const Row& gemm : run_problem(gemm_problem("ceiling", "sgemm", s, s, s, false, dev, impls), run)) {
      if (gemm.ok() && !(gemm.tflops() <= ceilings.sgemm_tflops)) {
        ceilings.sgemm_tflops = gemm.tflops();
        ceilings.sgemm_source = gemm.impl + " " + std::to_string(s) + "^3";
      }
      rows.push_back(gemm);
    }
  }
  std::printf("ceilings: %.1f GB/s (%s), %.2f TFLOP/s (%s)\n", ceilings.copy_gbps, ceilings.copy_source.c_str(),
              ceilings.sgemm_tflops, ceilings.sgemm_source.c_str());

  const auto start = std::chrono::steady_clock::now();
  for (const Problem& p : problems) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (time_limit_s > 0 && elapsed > time_limit_s) {
      for (const Impl& impl : p.impls) {
        Row r;
        r.family = p.family, r.name = p.name, r.shape = p.shape, r.impl = impl.name, r.vendor = impl.vendor;
        r.status = "skipped: the run's time limit (--time-limit-s) was reached";
        rows.push_back(r);
      }
      continue;
    }
    const std::vector<Row> got = run_problem(p, run);
    rows.insert(rows.end(), got.begin(), got.end());
  }

  if (on_gpu && !emulated) {
    const GpuClocks after = clocks_under_load(run.flush, bus_id);
    auto mhz = [](const GpuClocks& c) {
      return c.known() ? std::to_string(c.sm_mhz) + " MHz" : std::string("unknown");
    };
    meta.push_back({"SM clock", "before " + mhz(before) + ", after " + mhz(after) + ", max " +
                                    (after.max_sm_mhz > 0 ? std::to_string(after.max_sm_mhz) + " MHz" : "unknown")});
    if (const std::string w = throttle_warning(before, after); !w.empty()) {
      std::fprintf(stderr, "ember-bench: warning: %s\n", w.c_str());
      meta.push_back({"warning", w});
    }
  }
  int failures = 0;
  for (const Row& r : rows) failures += r.status.rfind("FAILED", 0) == 0;
  meta.push_back({"rows", std::to_string(rows.size()) + ", " + std::to_string(failures) + " failed"});

  const std::string md = to_markdown(rows, meta, ceilings);
  if (!out_dir.empty()) {
    namespace fs = std::filesystem;
    fs::create_directories(out_dir);
    viz::write_file_atomic(fs::path(out_dir) / "bench.csv", to_csv(rows, ceilings));
    viz::write_file_atomic(fs::path(out_dir) / "bench.json", to_json(rows, meta, ceilings));
    viz::write_file_atomic(fs::path(out_dir) / "bench.md", md);
    std::vector<std::string> families;
    for (const Row& r : rows)
      if (std::find(families.begin(), families.end(), r.family) == families.end()) families.push_back(r.family);
    for (const std::string& f : families)
      if (const std::string svg = ratio_chart(rows, f, on_gpu ? "the vendor" : "Eigen"); !svg.empty())
        viz::write_file_atomic(fs::path(out_dir) / ("ratios-" + f + ".svg"), svg);
    viz::write_file_atomic(fs::path(out_dir) / "roofline.svg",
                           roofline_chart(rows, ceilings, std::string("Roofline: ") + (on_gpu ? "GPU" : "CPU")));
    std::printf("wrote %s/bench.{csv,json,md}, the ratio charts and roofline.svg\n", out_dir.c_str());
  } else {
    std::printf("\n%s", md.c_str());
  }
  if (!micro_csv.empty()) {
    if (config.empty()) {
      const char* env = std::getenv("EMBER_CPU_CACHE");
      config = env && std::string(env) == "0" ? "cache-off" : "cache-on";
    }
    append_micro_csv(micro_csv, rows, config, get_num_threads());
  }
  return failures ? 1 : 0;
}
