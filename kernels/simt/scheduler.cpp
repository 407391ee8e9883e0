// The SIMT emulator's scheduler: one block at a time per OS thread, its
// threads as ucontext fibers, barriers as rendezvous points, and the checks
// that make kernel bugs show on the CPU (Note [SIMT emulator] in simt.h).
//
// A block runs in rounds. In each round every runnable fiber runs, in the
// schedule's order (Note [SIMT schedules] in launch.h), until it returns or
// reaches a barrier. Then the barriers are settled: a warp operation whose
// lanes have all arrived releases them; otherwise, when every live thread
// waits at the same __syncthreads, the block barrier releases them all. A
// barrier that some threads can never reach is an error naming the places.
//
// AddressSanitizer follows the stack switches through
// __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber, so a
// fiber's stack is checked like any other. An exception thrown inside a
// fiber is caught there, the block stops, and the launch rethrows it on the
// launching thread: never across a context switch.
#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <deque>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "ember/core/error.h"
#include "ember/core/parallel.h"
#include "launch.h"

#if defined(__SANITIZE_ADDRESS__)
#define EMBER_SIMT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMBER_SIMT_ASAN 1
#endif
#endif
#ifdef EMBER_SIMT_ASAN
#include <dlfcn.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace ember::simt {

thread_local const ThreadView* tls_view = nullptr;

namespace {

// Each fiber's stack. Kernels are shallow, but ASan's redzones make frames
// several times larger. The pages are reserved, not committed, up front.
#ifdef EMBER_SIMT_ASAN
constexpr size_t kStackBytes = size_t(512) << 10;
#else
constexpr size_t kStackBytes = size_t(128) << 10;
#endif
constexpr size_t kGuardBytes = 4096;  // an unmapped page below each stack: an overflow faults

// Note [Switching fibers under ASan]
// ASan intercepts swapcontext, for programs that do not tell it about their
// stacks, and clears the shadow of the whole target stack twice at every
// switch: 2 x 64 KiB of shadow per switch here, through madvise, which made
// the CUDA tests spend nearly all their time in the kernel. We do tell it
// (start_switch / finish_switch below, at every switch), so we call libc's
// own swapcontext. A stack is reused for the next block only after its
// fiber returned, its frames unwound and their redzones unpoisoned.
using SwapContext = int (*)(ucontext_t*, const ucontext_t*);
SwapContext libc_swapcontext() {
#ifdef EMBER_SIMT_ASAN
  static const SwapContext fn = [] {
    void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    void* f = libc ? dlsym(libc, "swapcontext") : nullptr;
    return f ? reinterpret_cast<SwapContext>(f) : &::swapcontext;
  }();
  return fn;
#else
  return &::swapcontext;
#endif
}

enum class State : uint8_t { Fresh, Ready, AtBarrier, AtWarpSync, Done };

struct AsyncCopy {
  void* dst;
  const void* src;
  size_t bytes, zfill;
  void perform() const {
    std::memcpy(dst, src, bytes - zfill);
    std::memset(static_cast<char*>(dst) + (bytes - zfill), 0, zfill);
  }
};

struct Fiber {
  ThreadView view;
  unsigned linear = 0;
  State state = State::Fresh;
  const char* file = nullptr;  // where it waits
  int line = 0;
  unsigned mask = 0;  // AtWarpSync: the lanes that must meet there
  ucontext_t ctx;
  // Note [cp.async on the emulator]: this thread's copies not yet waited
  // for, in committed groups (oldest first), and those not yet committed.
  std::deque<std::vector<AsyncCopy>> committed;
  std::vector<AsyncCopy> uncommitted;
};

// Everything one OS thread needs to run blocks; reused from block to block.
struct BlockRun {
  const std::function<void()>* body = nullptr;
  std::vector<Fiber> fibers;
  std::vector<char*> stacks;  // stacks[i] is fiber i's
  unsigned threads = 0;
  ucontext_t scheduler;
  const void* scheduler_bottom = nullptr;
  size_t scheduler_size = 0;
  Fiber* running = nullptr;
  std::exception_ptr error;
  std::vector<unsigned char> dynamic_shared;
  std::vector<uint64_t> slots;  // 32 per warp: the values a warp operation exchanges

  ~BlockRun() {
    for (char* s : stacks) munmap(s - kGuardBytes, kStackBytes + kGuardBytes);
  }
  char* stack(size_t i) {
    while (stacks.size() <= i) {
      void* p = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      EMBER_CHECK(p != MAP_FAILED, DeviceError, "simt: cannot map a fiber stack of ", kStackBytes, " bytes");
      mprotect(p, kGuardBytes, PROT_NONE);
      stacks.push_back(static_cast<char*>(p) + kGuardBytes);
    }
    return stacks[i];
  }
};

thread_local BlockRun* tls_block = nullptr;

BlockRun& current_block(const char* what) {
  if (!tls_block || !tls_block->running)
    throw InternalError(std::string("simt: ") + what + " called outside a kernel launch");
  return *tls_block;
}

std::string where(const char* file, int line) { return std::string(file ? file : "?") + ":" + std::to_string(line); }

// ---- switching stacks (with AddressSanitizer told about it) ----

void start_switch(void** fake_stack_save, const void* bottom, size_t size) {
#ifdef EMBER_SIMT_ASAN
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
  (void)fake_stack_save, (void)bottom, (void)size;
#endif
}
void finish_switch(void* fake_stack_save, const void** old_bottom, size_t* old_size) {
#ifdef EMBER_SIMT_ASAN
  __sanitizer_finish_switch_fiber(fake_stack_save, old_bottom, old_size);
#else
  (void)fake_stack_save, (void)old_bottom, (void)old_size;
#endif
}

// From a fiber back to its block's scheduler. `exiting`: it will never be
// resumed (ASan may then free its fake stack).
void to_scheduler(BlockRun& b, Fiber& f, bool exiting) {
  void* fake = nullptr;
  start_switch(exiting ? nullptr : &fake, b.scheduler_bottom, b.scheduler_size);
  libc_swapcontext()(&f.ctx, &b.scheduler);
  finish_switch(fake, &b.scheduler_bottom, &b.scheduler_size);
}

// The cp.async copies a thread issued and never waited for. Its own
// function: under ASan, fiber_main's frame never returns (the fiber's last
// switch leaves it), and loop variables declared in it were reported as
// used after their scope on a reused stack.
[[gnu::noinline]] size_t pending_copies(const Fiber& f) {
  size_t n = f.uncommitted.size();
  for (size_t g = 0; g < f.committed.size(); ++g) n += f.committed[g].size();
  return n;
}

void fiber_main() {
  BlockRun& b = *tls_block;
  finish_switch(nullptr, &b.scheduler_bottom, &b.scheduler_size);
  Fiber& f = *b.running;
  try {
    (*b.body)();
    if (const size_t pending = pending_copies(f); pending > 0)
      throw DeviceError("simt: thread " + std::to_string(f.linear) + " of a block returned with " +
                        std::to_string(pending) + " __pipeline_memcpy_async copies never waited for "
                        "(__pipeline_commit, then __pipeline_wait_prior)");
  } catch (...) {
    if (!b.error) b.error = std::current_exception();
  }
  f.state = State::Done;
  to_scheduler(b, f, /*exiting=*/true);
}

// From the scheduler into fiber `i` until it blocks or returns.
void resume(BlockRun& b, size_t i) {
  Fiber& f = b.fibers[i];
  b.running = &f;
  tls_view = &f.view;
  if (f.state == State::Fresh) {
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = b.stack(i);
    f.ctx.uc_stack.ss_size = kStackBytes;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, fiber_main, 0);
  }
  f.state = State::Ready;
  void* fake = nullptr;
  start_switch(&fake, b.stack(i), kStackBytes);
  libc_swapcontext()(&b.scheduler, &f.ctx);
  finish_switch(fake, nullptr, nullptr);
  b.running = nullptr;
}

// ---- the schedule ----

std::mutex schedule_mutex;
Schedule& schedule_setting() {
  static Schedule s = [] {
    const char* env = std::getenv("EMBER_SIMT_SCHEDULE");
    return env && *env ? parse_schedule(env, "EMBER_SIMT_SCHEDULE") : Schedule{};
  }();
  return s;
}

// Orders `items` (warps, or one warp's lanes) by the schedule. `salt` makes
// each random shuffle of a block a new one.
void order(std::vector<unsigned>& items, const Schedule& s, uint64_t block, uint64_t salt) {
  if (s.kind == ScheduleKind::Reverse) std::reverse(items.begin(), items.end());
  if (s.kind == ScheduleKind::Random) {
    std::mt19937_64 rng(s.seed * 0x9E3779B97F4A7C15ULL ^ (block << 32) ^ salt);
    std::shuffle(items.begin(), items.end(), rng);
  }
}

// ---- settling barriers ----

unsigned warp_lanes(const BlockRun& b, unsigned warp) {
  const unsigned first = warp * 32, count = std::min(32u, b.threads - first);
  return count == 32 ? 0xFFFFFFFFu : (1u << count) - 1;
}

// Releases warp `warp`'s operation if all the lanes of its mask have
// arrived; true if it did.
bool release_warp_sync(BlockRun& b, unsigned warp) {
  const unsigned first = warp * 32, last = std::min(first + 32, b.threads);
  for (unsigned t = first; t < last; ++t) {
    Fiber& f = b.fibers[t];
    if (f.state != State::AtWarpSync) continue;
    bool all_here = true;
    for (unsigned lane = 0; lane < 32; ++lane) {
      if (!(f.mask >> lane & 1u)) continue;
      const Fiber& other = b.fibers[warp * 32 + lane];
      if (other.state == State::Done)
        throw DeviceError("simt: lane " + std::to_string(lane) + " of warp " + std::to_string(warp) +
                          " returned, but lane " + std::to_string(f.linear % 32) + " waits for it in the warp "
                          "operation at " + where(f.file, f.line) + " (mask 0x" + [&] {
                            char buf[16];
                            std::snprintf(buf, sizeof buf, "%08x", f.mask);
                            return std::string(buf);
                          }() + ")");
      // A lane of the mask elsewhere may still come: it may wait in another
      // operation, of a mask of its own, that completes first.
      if (other.state != State::AtWarpSync || other.mask != f.mask || other.file != f.file || other.line != f.line)
        all_here = false;
    }
    if (!all_here) continue;
    for (unsigned lane = 0; lane < 32; ++lane)
      if (f.mask >> lane & 1u) b.fibers[warp * 32 + lane].state = State::Ready;
    return true;
  }
  return false;
}

// Every live thread waits somewhere and no warp operation could complete:
// the block barrier releases them, if they all wait at the same one. A warp
// operation still waiting is a deadlock, or lanes of one mask at two
// different operations.
void release_block_barrier(BlockRun& b) {
  const Fiber* at_barrier = nullptr;
  const Fiber* done = nullptr;
  for (const Fiber& f : b.fibers) {
    if (f.state == State::AtWarpSync) {
      for (unsigned lane = 0; lane < 32; ++lane) {
        const Fiber& g = b.fibers[f.linear / 32 * 32 + lane];
        if ((f.mask >> lane & 1u) && g.state == State::AtWarpSync && (g.file != f.file || g.line != f.line))
          throw DeviceError("simt: divergent warp operations in warp " + std::to_string(f.linear / 32) +
                            ": lanes wait at " + where(f.file, f.line) + " and at " + where(g.file, g.line) +
                            " (each warp operation must be reached by every lane of its mask)");
      }
      const Fiber* other = nullptr;
      for (const Fiber& g : b.fibers)
        if (g.state == State::AtBarrier) other = &g;
      throw DeviceError("simt: deadlock: thread " + std::to_string(f.linear) + " waits in the warp operation at " +
                        where(f.file, f.line) + " for lanes that " +
                        (other ? "wait at the __syncthreads at " + where(other->file, other->line)
                               : std::string("never arrive")));
    }
    if (f.state == State::Done) done = &f;
    if (f.state != State::AtBarrier) continue;
    if (at_barrier && (f.file != at_barrier->file || f.line != at_barrier->line))
      throw DeviceError("simt: divergent __syncthreads: thread " + std::to_string(at_barrier->linear) + " waits at " +
                        where(at_barrier->file, at_barrier->line) + " and thread " + std::to_string(f.linear) +
                        " at " + where(f.file, f.line) + " (every thread of a block must reach the same one)");
    at_barrier = &f;
  }
  if (at_barrier && done)
    throw DeviceError("simt: the __syncthreads at " + where(at_barrier->file, at_barrier->line) +
                      " is reached by only part of the block: thread " + std::to_string(done->linear) +
                      " returned without reaching it, thread " + std::to_string(at_barrier->linear) + " waits there");
  for (Fiber& f : b.fibers)
    if (f.state == State::AtBarrier) f.state = State::Ready;
}

// After a block that stopped with an error, its other fibers are abandoned
// mid-kernel, their frames' redzones still poisoned: cleared before their
// stacks serve another block (Note [Switching fibers under ASan]).
void forget_abandoned_frames(BlockRun& b) {
#ifdef EMBER_SIMT_ASAN
  for (char* s : b.stacks) __asan_unpoison_memory_region(s, kStackBytes);
#else
  (void)b;
#endif
}

void run_block_to_end(BlockRun& b, const LaunchConfig& cfg, uint64_t block_linear, const Schedule& schedule);

// Runs one block to the end; rethrows what a thread raised.
void run_block(BlockRun& b, const LaunchConfig& cfg, uint64_t block_linear, const Schedule& schedule) {
  try {
    run_block_to_end(b, cfg, block_linear, schedule);
  } catch (...) {
    forget_abandoned_frames(b);
    throw;
  }
}

// Note [Warps run ahead]
// On a GPU the warps of a block are scheduled independently: between two
// __syncthreads one warp may be far ahead of another, through any number
// of its own shuffles, or not have started. The emulator runs a block warp
// by warp, in the schedule's order: a warp's lanes run (in the schedule's
// order) until each waits or returns; when all the lanes of its warp
// operation are there, that operation completes and the warp goes on at
// once; only when the warp waits at the block barrier (or is done) does
// the next warp start. When every warp waits there, the barrier releases
// them all and the next pass begins. So under `forward` warp 0 runs to the
// barrier before warp 1 starts, and under `reverse` the last warp does:
// for any two warps both orders are tried. A kernel that reuses shared
// memory in a loop without a barrier at the end of each pass is caught
// this way: one warp runs into the next pass and overwrites a value that
// another warp has not read yet.
void run_block_to_end(BlockRun& b, const LaunchConfig& cfg, uint64_t block_linear, const Schedule& schedule) {
  const dim3 grid = cfg.grid, block = cfg.block;
  const dim3 block_idx(static_cast<unsigned>(block_linear % grid.x),
                       static_cast<unsigned>(block_linear / grid.x % grid.y),
                       static_cast<unsigned>(block_linear / (uint64_t(grid.x) * grid.y)));
  b.threads = block.x * block.y * block.z;
  b.fibers.assign(b.threads, Fiber{});
  for (unsigned t = 0; t < b.threads; ++t) {
    Fiber& f = b.fibers[t];
    f.linear = t;
    f.view.thread_idx = dim3(t % block.x, t / block.x % block.y, t / (block.x * block.y));
    f.view.block_idx = block_idx;
    f.view.block_dim = block;
    f.view.grid_dim = grid;
  }
  b.slots.assign((b.threads + 31) / 32 * 32, 0);
  // Uninitialized on a GPU; all ones here (NaN as a float), so a read before
  // the first write shows.
  b.dynamic_shared.assign(cfg.shared_bytes, 0xFF);
  b.error = nullptr;
  // Note [Warps run ahead]
  std::vector<unsigned> warps, lanes;
  uint64_t salt = 0;
  for (;;) {
    warps.clear();
    for (unsigned w = 0; w < (b.threads + 31) / 32; ++w) warps.push_back(w);
    order(warps, schedule, block_linear, salt++);
    for (unsigned w : warps) {
      const unsigned first = w * 32, last = std::min(first + 32, b.threads);
      do {
        lanes.clear();
        for (unsigned t = first; t < last; ++t)
          if (b.fibers[t].state == State::Fresh || b.fibers[t].state == State::Ready) lanes.push_back(t);
        order(lanes, schedule, block_linear, salt++);
        for (unsigned t : lanes) {
          resume(b, t);
          if (b.error) std::rethrow_exception(b.error);  // the other fibers are abandoned where they wait
        }
      } while (release_warp_sync(b, w));
    }
    if (std::all_of(b.fibers.begin(), b.fibers.end(), [](const Fiber& f) { return f.state == State::Done; })) return;
    release_block_barrier(b);
  }
}

void check_launch(const LaunchConfig& cfg, size_t max_shared) {
  const dim3 g = cfg.grid, b = cfg.block;
  const std::string at = std::string(cfg.where.file_name()) + ":" + std::to_string(cfg.where.line());
  auto dims = [](dim3 d) {
    return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")";
  };
  EMBER_CHECK(b.x >= 1 && b.y >= 1 && b.z >= 1 && uint64_t(b.x) * b.y * b.z <= kMaxThreadsPerBlock &&
                  b.z <= kMaxBlockDimZ,
              DeviceError, "simt: launch at ", at, ": block ", dims(b), " is over the limits (at most ",
              kMaxThreadsPerBlock, " threads, z at most ", kMaxBlockDimZ, ", none zero)");
  EMBER_CHECK(g.x >= 1 && g.y >= 1 && g.z >= 1 && g.x <= kMaxGridDimX && g.y <= kMaxGridDimYZ && g.z <= kMaxGridDimYZ,
              DeviceError, "simt: launch at ", at, ": grid ", dims(g), " is over the limits (x up to ",
              kMaxGridDimX, ", y and z up to ", kMaxGridDimYZ, ", none zero)");
  EMBER_CHECK(cfg.shared_bytes <= max_shared, DeviceError, "simt: launch at ", at, ": ", cfg.shared_bytes,
              " bytes of dynamic shared memory, but the kernel may use ", max_shared,
              (max_shared == kDefaultMaxSharedBytes ? " (48 KiB unless it opts in with set_max_dynamic_shared_memory)"
                                                    : ""));
}

std::mutex opt_in_mutex;
std::unordered_map<const void*, size_t>& opt_ins() {
  static auto* m = new std::unordered_map<const void*, size_t>();
  return *m;
}

}  // namespace

// ---- the device-side API ----

void sync_threads(const char* file, int line) {
  BlockRun& b = current_block("__syncthreads");
  Fiber& f = *b.running;
  f.state = State::AtBarrier;
  f.file = file;
  f.line = line;
  to_scheduler(b, f, false);
}

// Note [cp.async on the emulator]
// On sm_80+ __pipeline_memcpy_async starts a copy from global to shared
// memory that lands some time before the issuing thread's
// __pipeline_wait_prior(n) returns for its group (a group is what one
// __pipeline_commit closes; wait_prior(n) waits for all but the newest n).
// The emulator makes the latest legal choice: a copy happens inside that
// wait, never before. So a kernel that reads a stage before waiting for it,
// or reads another thread's copy without a __syncthreads after that
// thread's wait, reads stale shared memory (all ones at the start) and
// fails its test. Returning with copies never waited for is an error.
void pipeline_memcpy_async(void* dst, const void* src, size_t bytes, size_t zfill, const char* file, int line) {
  BlockRun& b = current_block("__pipeline_memcpy_async");
  EMBER_CHECK((bytes == 4 || bytes == 8 || bytes == 16) && zfill <= bytes, DeviceError,
              "simt: __pipeline_memcpy_async at ", where(file, line), ": ", bytes, " bytes with zfill ", zfill,
              " (the size must be 4, 8 or 16, and zfill at most the size)");
  EMBER_CHECK(reinterpret_cast<uintptr_t>(dst) % bytes == 0 && reinterpret_cast<uintptr_t>(src) % bytes == 0,
              DeviceError, "simt: __pipeline_memcpy_async at ", where(file, line), ": a ", bytes,
              "-byte copy needs both addresses aligned to ", bytes, " bytes");
  b.running->uncommitted.push_back({dst, src, bytes, zfill});
}

void pipeline_commit() {
  Fiber& f = *current_block("__pipeline_commit").running;
  f.committed.push_back(std::move(f.uncommitted));
  f.uncommitted.clear();
}

void pipeline_wait_prior(size_t newest_left) {
  Fiber& f = *current_block("__pipeline_wait_prior").running;
  while (f.committed.size() > newest_left) {
    for (const AsyncCopy& c : f.committed.front()) c.perform();
    f.committed.pop_front();
  }
}

namespace {
thread_local Recording* tls_recording = nullptr;
}  // namespace
void set_recording(Recording* r) { tls_recording = r; }
Recording* recording() { return tls_recording; }

void* dynamic_shared_memory() { return current_block("dynamic shared memory").dynamic_shared.data(); }

unsigned live_lanes(unsigned mask) {
  BlockRun& b = current_block("a warp operation");
  return mask & warp_lanes(b, b.running->linear / 32);
}

namespace {
// Waits until every lane of `mask` in the caller's warp has arrived here.
void warp_barrier(BlockRun& b, Fiber& f, unsigned mask, const char* file, int line) {
  f.state = State::AtWarpSync;
  f.mask = mask;
  f.file = file;
  f.line = line;
  to_scheduler(b, f, false);
}

void check_mask(const BlockRun& b, const Fiber& f, unsigned mask, const char* file, int line) {
  const unsigned lane = f.linear % 32, warp = f.linear / 32;
  EMBER_CHECK(mask >> lane & 1u, DeviceError, "simt: lane ", lane, " of warp ", warp, " calls the warp operation at ",
              where(file, line), " but is not in its mask");
  EMBER_CHECK((mask & ~warp_lanes(b, warp)) == 0, DeviceError, "simt: the warp operation at ", where(file, line),
              " names lanes that do not exist in warp ", warp, " (the block has ", b.threads, " threads)");
}
}  // namespace

uint64_t warp_exchange(unsigned mask, uint64_t bits, int src_lane, const char* file, int line) {
  BlockRun& b = current_block("a warp shuffle");
  Fiber& f = *b.running;
  check_mask(b, f, mask, file, line);
  const unsigned warp = f.linear / 32;
  b.slots[warp * 32 + f.linear % 32] = bits;
  warp_barrier(b, f, mask, file, line);  // every lane has offered its value
  if (src_lane >= 0)
    EMBER_CHECK(mask >> src_lane & 1u, DeviceError, "simt: lane ", f.linear % 32, " reads lane ", src_lane,
                " in the shuffle at ", where(file, line), ", which is not in the mask");
  const uint64_t got = src_lane < 0 ? bits : b.slots[warp * 32 + static_cast<unsigned>(src_lane)];
  warp_barrier(b, f, mask, file, line);  // every lane has read before any slot is reused
  return got;
}

unsigned warp_ballot(unsigned mask, bool pred, const char* file, int line) {
  BlockRun& b = current_block("a warp vote");
  Fiber& f = *b.running;
  check_mask(b, f, mask, file, line);
  const unsigned warp = f.linear / 32;
  b.slots[warp * 32 + f.linear % 32] = pred ? 1 : 0;
  warp_barrier(b, f, mask, file, line);
  unsigned votes = 0;
  for (unsigned lane = 0; lane < 32; ++lane)
    if ((mask >> lane & 1u) && b.slots[warp * 32 + lane]) votes |= 1u << lane;
  warp_barrier(b, f, mask, file, line);
  return votes;
}

// ---- the host side ----

Schedule parse_schedule(const std::string& text, const char* source) {
  if (text == "forward") return {ScheduleKind::Forward, 0};
  if (text == "reverse") return {ScheduleKind::Reverse, 0};
  if (text.rfind("random:", 0) == 0 && text.size() > 7) {
    char* end = nullptr;
    const unsigned long long seed = std::strtoull(text.c_str() + 7, &end, 10);
    if (end && *end == '\0') return {ScheduleKind::Random, seed};
  }
  throw ValueError(std::string(source) + "=" + text + ": expected forward, reverse or random:SEED");
}

Schedule schedule() {
  std::lock_guard<std::mutex> lock(schedule_mutex);
  return schedule_setting();
}

void set_schedule(Schedule s) {
  std::lock_guard<std::mutex> lock(schedule_mutex);
  schedule_setting() = s;
}

void set_max_dynamic_shared_memory(const void* kernel, size_t bytes) {
  EMBER_CHECK(bytes <= kOptInMaxSharedBytes, DeviceError, "simt: a kernel may opt in to at most ",
              kOptInMaxSharedBytes, " bytes of dynamic shared memory, not ", bytes);
  std::lock_guard<std::mutex> lock(opt_in_mutex);
  opt_ins()[kernel] = bytes;
}

void run_grid(const LaunchConfig& cfg, const std::function<void()>& thread_body) {
  EMBER_CHECK(tls_block == nullptr || tls_block->running == nullptr, DeviceError,
              "simt: a kernel launched another kernel (dynamic parallelism is not emulated)");
  size_t max_shared = kDefaultMaxSharedBytes;
  {
    std::lock_guard<std::mutex> lock(opt_in_mutex);
    if (auto it = opt_ins().find(cfg.kernel); it != opt_ins().end()) max_shared = std::max(max_shared, it->second);
  }
  check_launch(cfg, max_shared);
  const Schedule s = schedule();
  const int64_t blocks = int64_t(cfg.grid.x) * cfg.grid.y * cfg.grid.z;
  parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    thread_local BlockRun run;
    BlockRun* outer = tls_block;
    tls_block = &run;
    run.body = &thread_body;
    try {
      for (int64_t b = b0; b < b1; ++b) run_block(run, cfg, static_cast<uint64_t>(b), s);
    } catch (...) {
      tls_block = outer;
      tls_view = nullptr;
      throw;
    }
    tls_block = outer;
    tls_view = nullptr;
  });
}

}  // namespace ember::simt
