// The backend registry and the one dispatch path (Note [Backend registry],
// Note [One dispatch path]): registration, selection by name and through
// EMBER_BACKEND, partial backends falling through to their base, loud
// failures, the ExecContext a kernel sees, the op profiler at the choke
// point and its trace, in-place ops that allocate nothing, and checked
// tensor layouts.
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include <ember/autograd/prim.h>
#include <ember/kernels/register.h>

#include "support.h"

using namespace ember;
using namespace ember::test;

namespace {

// A partial CPU backend with one entry of its own: binary, counted, then
// done by cpu:ember. Everything else falls through to "ember".
class CountingBackend final : public Backend {
 public:
  CountingBackend() : Backend(DeviceType::CPU, "counting", "ember", {Primitive::Binary}) {}
  void binary(const ExecContext& ctx, BinaryOp op, const TensorView& out, const TensorView& a,
              const TensorView& b) override {
    ++calls;
    last_device = ctx.device;
    backend_named(DeviceType::CPU, "ember").binary(ctx, op, out, a, b);
  }
  int calls = 0;
  Device last_device{DeviceType::CUDA, 7};
};

// Claims unary but does not implement it: an internal error, never garbage.
class ClaimingBackend final : public Backend {
 public:
  ClaimingBackend() : Backend(DeviceType::CPU, "claiming", "ember", {Primitive::Unary}) {}
};

// A second CPU root that implements nothing: every primitive fails loudly.
class BareBackend final : public Backend {
 public:
  BareBackend() : Backend(DeviceType::CPU, "bare", "", {}) {}
  Allocator& allocator(int) override { return cpu_allocator(); }
  int device_count() const override { return 1; }
};

CountingBackend& counting() {
  static CountingBackend* b = [] {
    kernels::register_backends();
    auto* c = new CountingBackend();
    register_backend(c);
    register_backend(new ClaimingBackend());
    register_backend(new BareBackend());
    return c;
  }();
  return *b;
}

// Restores cpu:ember at scope exit.
struct RestoreCpu {
  ~RestoreCpu() { set_backend(DeviceType::CPU, "ember"); }
};

}  // namespace

TEST_CASE("the built-in backends are registered, named and selectable", "[backends]") {
  RestoreCpu restore;
  const auto cpu = registered_backends(DeviceType::CPU);
  REQUIRE(cpu.size() >= 2);
  CHECK(cpu[0] == "ember");
  CHECK(cpu[1] == "eigen");
  CHECK(has_backend(DeviceType::CUDA) == kernels::built_with_cuda());
  if (kernels::built_with_cuda()) CHECK(registered_backends(DeviceType::CUDA).front() == "ember");
  CHECK(active_backend(DeviceType::CPU).full_name() == "cpu:ember");
  CHECK(device_backend(DeviceType::CPU).full_name() == "cpu:ember");
  CHECK(describe_active_backend(DeviceType::CPU) == "cpu:ember");
  set_backend(DeviceType::CPU, "eigen");
  CHECK(describe_active_backend(DeviceType::CPU) == "cpu:eigen (falls back to cpu:ember)");
  CHECK(backend_for(Primitive::Matmul, DeviceType::CPU).full_name() == "cpu:eigen");
  CHECK(backend_for(Primitive::Conv2dForward, DeviceType::CPU).full_name() == "cpu:ember");
  CHECK(device_backend(DeviceType::CPU).full_name() == "cpu:ember");  // memory stays with the root
  REQUIRE_THROWS_WITH_ALL(set_backend(DeviceType::CPU, "mkl"), ValueError, "set_backend", "unknown cpu backend 'mkl'",
                          "ember, eigen");
  CHECK(active_backend(DeviceType::CPU).name() == "eigen");  // a failed selection changes nothing
}

TEST_CASE("every primitive has a name of its own", "[backends]") {
  std::set<std::string> names;
  for (int p = 0; p < kNumPrimitives; ++p) {
    const char* name = primitive_name(static_cast<Primitive>(p));
    REQUIRE(name != nullptr);  // a new enum value without its entry in primitive_name's table
    CHECK(names.insert(name).second);
  }
  CHECK(std::string(primitive_name(Primitive::Conv2dBackwardWeight)) == "conv2d_backward_weight");
  CHECK(std::string(primitive_name(Primitive::Synchronize)) == "synchronize");
}

TEST_CASE("a partial backend runs its own entries and falls through for the rest", "[backends]") {
  CountingBackend& c = counting();
  RestoreCpu restore;
  Tensor a = random_input({3, 4}, DType::Float32, Layout::Transposed);
  Tensor b = random_input({4}, DType::Float32, Layout::Strided);
  Tensor want_sum = a + b, want_exp = exp(a);
  set_backend(DeviceType::CPU, "counting");
  CHECK(c.supports(Primitive::Binary));
  CHECK_FALSE(c.supports(Primitive::Unary));
  const int before = c.calls;
  Tensor got_sum = a + b;
  CHECK(c.calls == before + 1);
  CHECK(c.last_device == kCPU);  // the ExecContext names the device
  Tensor got_exp = exp(a);
  CHECK(c.calls == before + 1);  // unary fell through to cpu:ember
  CHECK(equal(got_sum, want_sum));
  CHECK(equal(got_exp, want_exp));
  CHECK(backend_for(Primitive::Unary, DeviceType::CPU).full_name() == "cpu:ember");
  set_backend(DeviceType::CPU, "ember");
  (void)(a * b);
  CHECK(c.calls == before + 1);  // no longer active
}

TEST_CASE("a backend missing an entry fails loudly, never silently elsewhere", "[backends]") {
  counting();
  RestoreCpu restore;
  Tensor a = ones({3});
  set_backend(DeviceType::CPU, "claiming");
  REQUIRE_THROWS_WITH_ALL(exp(a), InternalError, "cpu:claiming", "unary", "claims but does not implement");
  set_backend(DeviceType::CPU, "bare");
  REQUIRE_THROWS_WITH_ALL(a + a, DeviceError, "cpu", "binary", "has no kernel in cpu:bare");
  REQUIRE_THROWS_WITH_ALL(a.clone(), DeviceError, "copy", "cpu:bare");
}

TEST_CASE("registering a backend twice or on a missing base is refused", "[backends]") {
  counting();
  static CountingBackend again;  // same name
  REQUIRE_THROWS_WITH_ALL(register_backend(&again), ValueError, "cpu:counting", "already registered");
  struct Orphan final : Backend {
    Orphan() : Backend(DeviceType::CPU, "orphan", "nowhere", {Primitive::Binary}) {}
  };
  static Orphan orphan;
  REQUIRE_THROWS_WITH_ALL(register_backend(&orphan), ValueError, "cpu:orphan", "'nowhere'", "not registered");
}

TEST_CASE("DEVICE:IMPL selections parse, and bad ones name the problem", "[backends]") {
  kernels::register_backends();  // the core registry knows only what was registered
  RestoreCpu restore;
  set_backends_from_string("cpu:eigen", "EMBER_BACKEND");
  CHECK(active_backend(DeviceType::CPU).name() == "eigen");
  set_backends_from_string("cpu:eigen,cpu:ember", "EMBER_BACKEND");
  CHECK(active_backend(DeviceType::CPU).name() == "ember");
  REQUIRE_THROWS_WITH_ALL(set_backends_from_string("eigen", "EMBER_BACKEND"), ValueError, "EMBER_BACKEND=eigen",
                          "expected DEVICE:IMPL");
  REQUIRE_THROWS_WITH_ALL(set_backends_from_string("tpu:x", "EMBER_BACKEND"), ValueError, "unknown device 'tpu'");
  REQUIRE_THROWS_WITH_ALL(set_backends_from_string("cpu:nope", "EMBER_BACKEND"), ValueError, "EMBER_BACKEND=cpu:nope",
                          "unknown cpu backend 'nope'", "ember");
  if (!kernels::built_with_cuda())
    REQUIRE_THROWS_WITH_ALL(set_backends_from_string("cuda:ember", "EMBER_BACKEND"), DeviceError, "no cuda backend");
  // A bad item changes nothing, not even the good items before it.
  set_backend(DeviceType::CPU, "ember");
  REQUIRE_THROWS_WITH_ALL(set_backends_from_string("cpu:eigen,cpu:nope", "EMBER_BACKEND"), ValueError, "'nope'");
  CHECK(active_backend(DeviceType::CPU).name() == "ember");
}

// Run by CTest with EMBER_BACKEND set (tests/CMakeLists.txt): the first op
// sees the selection.
TEST_CASE("EMBER_BACKEND selects the implementation at start-up", "[backends][env]") {
  const char* env = std::getenv("EMBER_BACKEND");
  if (!env) return;  // only meaningful under the CTest entry that sets it
  (void)(ones({2}) + 1);
  CHECK(std::string("cpu:") + active_backend(DeviceType::CPU).name() == env);
}

TEST_CASE("the profiler times every primitive and backward node, and is silent when off", "[backends][profiler]") {
  struct Off {
    ~Off() {
      profiler::set_enabled(false);
      profiler::reset();
    }
  } off;
  profiler::set_enabled(false);
  profiler::reset();
  Tensor x = random_input({2, 3, 6, 6}, DType::Float32, Layout::Contiguous).detach().requires_grad_();
  Tensor w = random_input({4, 3, 3, 3}, DType::Float32, Layout::Contiguous).detach().requires_grad_();
  conv2d(x, w).sum().backward();
  CHECK(profiler::entries().empty());  // off: nothing recorded
  profiler::set_enabled(true);
  for (int i = 0; i < 2; ++i) conv2d(x, w).sum().backward();
  auto find = [](profiler::Kind kind, const std::string& name) -> const profiler::Entry* {
    static std::vector<profiler::Entry> all;
    all = profiler::entries();
    for (const auto& e : all)
      if (e.kind == kind && e.name == name) return &e;
    return nullptr;
  };
  const profiler::Entry* fwd = find(profiler::Kind::Primitive, "conv2d_forward");
  REQUIRE(fwd != nullptr);
  CHECK(fwd->calls == 2);
  CHECK(fwd->total_seconds > 0);
  const profiler::Entry* node = find(profiler::Kind::Node, "ConvBackward");
  REQUIRE(node != nullptr);
  CHECK(node->calls == 2);
  const auto all = profiler::entries();
  for (size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].total_seconds >= all[i].total_seconds);  // sorted
  const std::string table = profiler::table();
  CHECK(table.find("conv2d_backward_weight") != std::string::npos);
  CHECK(table.find("ConvBackward") != std::string::npos);
  TempDir dir;
  profiler::write_csv((dir / "profile.csv").string());
  std::ifstream f(dir / "profile.csv");
  std::string header, row;
  std::getline(f, header);
  CHECK(header == "kind,name,calls,total_ms,mean_us");
  int rows = 0;
  while (std::getline(f, row)) ++rows;
  CHECK(rows == static_cast<int>(all.size()));
}

namespace {

// Leaves the profiler as the tests found it: off, untraced, empty, default cap.
struct ProfilerOff {
  ProfilerOff() { off(); }
  ~ProfilerOff() { off(); }
  static void off() {
    profiler::set_tracing(false);
    profiler::set_enabled(false);
    profiler::set_trace_capacity(profiler::kDefaultTraceCapacity);
    profiler::reset();
  }
};

}  // namespace

TEST_CASE("the trace nests primitives inside their node, on the recording thread's lane", "[backends][profiler]") {
  ProfilerOff off;
  Tensor x = random_input({2, 3, 6, 6}, DType::Float32, Layout::Contiguous).detach().requires_grad_();
  Tensor w = random_input({4, 3, 3, 3}, DType::Float32, Layout::Contiguous).detach().requires_grad_();
  profiler::set_enabled(true);  // on but not tracing: the table fills, the trace does not
  conv2d(x, w).sum().backward();
  CHECK_FALSE(profiler::entries().empty());
  CHECK(profiler::trace_events().empty());
  profiler::set_enabled(false);
  profiler::set_tracing(true);
  CHECK(profiler::enabled());  // tracing implies the profiler
  profiler::set_lane_name("main");
  conv2d(x, w).sum().backward();
  const auto events = profiler::trace_events();
  REQUIRE(!events.empty());
  for (size_t i = 1; i < events.size(); ++i) CHECK(events[i - 1].start_us <= events[i].start_us);  // sorted
  const int lane = events[0].lane;
  int nodes = 0, inside = 0;
  for (const auto& e : events) {
    CHECK(e.lane == lane);  // one thread, one lane
    CHECK(e.lane_name == "main");
    CHECK(e.start_us >= 0);
    CHECK(e.end_us >= e.start_us);
    if (e.kind != profiler::Kind::Node || e.name != "ConvBackward") continue;
    ++nodes;
    for (const auto& p : events)
      if (p.kind == profiler::Kind::Primitive && p.name.rfind("conv2d_backward", 0) == 0) {
        CHECK(p.start_us >= e.start_us);
        CHECK(p.end_us <= e.end_us);
        ++inside;
      }
  }
  CHECK(nodes == 1);
  CHECK(inside == 2);  // conv2d_backward_input and conv2d_backward_weight
  // Every primitive of the graph appears; an enclosing event sorts before what it contains.
  auto index_of = [&](profiler::Kind kind, const std::string& name) {
    for (size_t i = 0; i < events.size(); ++i)
      if (events[i].kind == kind && events[i].name == name) return static_cast<int>(i);
    return -1;
  };
  REQUIRE(index_of(profiler::Kind::Primitive, "conv2d_forward") >= 0);
  CHECK(index_of(profiler::Kind::Node, "ConvBackward") < index_of(profiler::Kind::Primitive, "conv2d_backward_weight"));
  // Off means nothing more is recorded; reset() empties the trace.
  profiler::set_tracing(false);
  const size_t before = profiler::trace_events().size();
  conv2d(x, w).sum().backward();
  { profiler::Span s("unseen"); }
  CHECK(profiler::trace_events().size() == before);
  profiler::reset();
  CHECK(profiler::trace_events().empty());
}

TEST_CASE("spans from another thread get their own named lane, and the Chrome trace parses", "[backends][profiler]") {
  ProfilerOff off;
  profiler::set_tracing(true);
  profiler::set_lane_name("main");
  {
    profiler::Span step("step");
    (void)(ones({4}) + 1);
    std::thread comm([] {
      for (int b = 0; b < 3; ++b) profiler::Span s("all_reduce bucket " + std::to_string(b), "comm");
    });
    comm.join();
  }
  const auto events = profiler::trace_events();
  int main_lane = -1, comm_lane = -1, buckets = 0;
  for (const auto& e : events) {
    if (e.name == "step") main_lane = e.lane;
    if (e.name.rfind("all_reduce bucket", 0) == 0) {
      CHECK(e.kind == profiler::Kind::Span);
      CHECK(e.lane_name == "comm");
      comm_lane = e.lane;
      ++buckets;
    }
  }
  CHECK(buckets == 3);
  REQUIRE(main_lane >= 0);
  CHECK(comm_lane != main_lane);
  for (const auto& e : events) CHECK(e.lane == (e.lane_name == "comm" ? comm_lane : main_lane));

  TempDir dir;
  profiler::write_chrome_trace((dir / "trace.json").string());
  std::ifstream f(dir / "trace.json");
  const nlohmann::json trace = nlohmann::json::parse(f);  // throws if not JSON
  REQUIRE(trace["traceEvents"].is_array());
  size_t complete = 0;
  std::map<int, std::string> thread_names;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "M") {
      if (e["name"] == "thread_name") thread_names[e["tid"].get<int>()] = e["args"]["name"].get<std::string>();
      continue;
    }
    REQUIRE(e["ph"] == "X");
    ++complete;
    for (const char* field : {"name", "cat", "ts", "dur", "pid", "tid"}) CHECK(e.contains(field));
    CHECK(e["ts"].get<double>() >= 0);
    CHECK(e["dur"].get<double>() >= 0);
    const std::string cat = e["cat"];
    CHECK((cat == "primitive" || cat == "node" || cat == "span"));
    if (e["name"] == "all_reduce bucket 2") {
      CHECK(cat == "span");
      CHECK(e["tid"].get<int>() == comm_lane);
    }
  }
  CHECK(complete == events.size());
  CHECK(thread_names[comm_lane] == "comm");
  CHECK(thread_names[main_lane] == "main");
  CHECK(trace["otherData"]["dropped_events"] == 0);

  // The figure, as docs/backends.md section 6 builds it: nodes and spans, one lane per row.
  std::vector<viz::TimelineLane> lanes;
  for (const auto& e : events) {
    if (e.kind == profiler::Kind::Primitive) continue;
    if (lanes.size() <= static_cast<size_t>(e.lane)) lanes.resize(e.lane + 1);
    lanes[e.lane].label = e.lane_name.empty() ? "thread " + std::to_string(e.lane) : e.lane_name;
    lanes[e.lane].spans.push_back({e.start_us / 1e3, e.end_us / 1e3, e.name,
                                   e.kind == profiler::Kind::Node ? "backward" : "all_reduce"});
  }
  const std::string svg = viz::timeline_chart(lanes, {.title = "Backward and all-reduce"});
  CHECK(svg.find(">comm<") != std::string::npos);
  CHECK(svg.find(">main<") != std::string::npos);
}

TEST_CASE("the trace keeps at most its capacity and counts what it drops", "[backends][profiler]") {
  ProfilerOff off;
  profiler::set_tracing(true);
  profiler::set_trace_capacity(3);
  for (int i = 0; i < 5; ++i) profiler::Span s("span " + std::to_string(i));
  const auto events = profiler::trace_events();
  REQUIRE(events.size() == 3);
  CHECK(events[0].name == "span 0");  // the first ones are kept
  CHECK(profiler::trace_dropped() == 2);
  TempDir dir;
  profiler::write_chrome_trace((dir / "trace.json").string());
  std::ifstream f(dir / "trace.json");
  CHECK(nlohmann::json::parse(f)["otherData"]["dropped_events"] == 2);
  profiler::reset();
  CHECK(profiler::trace_dropped() == 0);
  // JSON-hostile names survive the round trip.
  profiler::set_trace_capacity(profiler::kDefaultTraceCapacity);
  { profiler::Span s("quote \" back\\slash \ttab"); }
  profiler::write_chrome_trace((dir / "trace.json").string());
  std::ifstream g(dir / "trace.json");
  CHECK(nlohmann::json::parse(g)["traceEvents"][0]["name"] == "quote \" back\\slash \ttab");
}

TEST_CASE("in-place ops write into self and allocate nothing when nothing is recorded", "[backends][inplace]") {
  Tensor a = random_input({1000}, DType::Float32, Layout::Contiguous, 1, 2, 1);
  Tensor b = random_input({1000}, DType::Float32, Layout::Contiguous, 1, 2, 2);
  Tensor row = random_input({10, 100}, DType::Float32, Layout::Contiguous, 1, 2, 3);
  Tensor col = random_input({100}, DType::Float32, Layout::Contiguous, 1, 2, 4);
  auto allocations = [] {
    const CpuMemoryStats s = cpu_memory_stats();
    return s.cache_hits + s.cache_misses;
  };
  const Tensor b64 = b.to(DType::Float64);
  const void* where = a.raw_data();
  const size_t before = allocations();
  a.add_(b);
  a.mul_(b);
  a.sub_(b);
  a.div_(b);
  row.add_(col);  // broadcast
  a.add_(a);      // self-aliasing, element for element
  CHECK(allocations() == before);
  CHECK(a.raw_data() == where);
  // The check can fail: an operand of another dtype goes through a temporary.
  a.add_(b64);
  CHECK(allocations() > before);
  // A stride-0 self is refused instead of written several times.
  Tensor expanded = ones({1, 4}).expand({3, 4});
  REQUIRE_THROWS_WITH_ALL(expanded.add_(ones({3, 4})), ValueError, "add_", "several elements in one memory location");
  // A partly overlapping operand is read from a copy: the result is as if out of place.
  Tensor v = arange(6).to(DType::Float32);
  Tensor want = v.slice(0, 1, 6) + v.slice(0, 0, 5);
  Tensor dst = v.slice(0, 1, 6);
  dst.add_(v.slice(0, 0, 5));
  CHECK(equal(v.slice(0, 1, 6), want));
}

TEST_CASE("a tensor's layout is checked against its storage", "[backends][layout]") {
  Tensor t = zeros({4});
  REQUIRE_THROWS_WITH_ALL(t.impl()->set_layout({5}, {1}), InternalError, "[5]", "reach element 4", "holding 4");
  REQUIRE_THROWS_WITH_ALL(t.impl()->set_layout({2, 2}, {1}), InternalError, "differ in length");
  REQUIRE_THROWS_WITH_ALL(t.impl()->set_layout({2}, {1}, -1), InternalError, "negative offset");
  t.impl()->set_layout({2, 2}, {1, 2});  // a transposed view of the same four elements
  CHECK(t.shape() == Shape{2, 2});
  CHECK(t.strides() == Strides{1, 2});
  t.impl()->set_layout({0}, {1}, 4);  // an empty view may point past the end
  CHECK(t.numel() == 0);
}
