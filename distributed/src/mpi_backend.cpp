// The MPI backend: CPU tensors across the ranks mpirun started.
//
// Note [One communication thread]
// Every MPI call after MPI_Init_thread is made by one thread, the
// communication thread (MPI_THREAD_SERIALIZED is all it needs). Callers
// queue collectives, in their call order, and get a Work back at once; the
// thread starts each as a non-blocking collective (MPI_Iallreduce, ...), so
// several are in flight while the caller computes (DDP's buckets during
// backward), and polls them with MPI_Test: Open MPI's non-blocking
// collectives progress only inside MPI calls. Between polls it sleeps, from
// 20 us up to 1 ms while nothing moves, so it does not eat a core. Blocking
// calls are queued the same way and waited for, so every rank starts the
// same collectives in the same order whatever the threads.
//
// Note [Arrival notices]
// To name the ranks a stuck collective waits for (Note [Collective
// timeouts] in distributed.h), each rank, as it starts collective k, sends
// every peer a one-integer notice "arrived at k" on a communicator of its
// own (a dup of MPI_COMM_WORLD, one tag), and posts a receive for each
// peer's; when k completes it sends "done with k" (another tag) the same
// way. MPI keeps messages of one sender, tag and communicator in order, so
// the n-th receive posted for a peer matches that peer's n-th notice. Past
// the timeout, the peers whose arrival did not come never arrived; if all
// arrived, those whose "done" did not come stopped inside it (a SIGSTOP
// between two polls). The notices of a completed collective are kept until
// their requests complete, then freed; those of a failed one are kept for
// the life of the process, since MPI may still write into them.
#include <mpi.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "backend.h"
#include "ember/core/error.h"
#include "ember/core/profiler.h"

namespace ember::distributed::detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kArriveTag = 1;
constexpr int kDoneTag = 2;

enum class Kind { AllReduce, Broadcast, AllGather, Barrier, Bytes };

class Op : public Work {
 public:
  Kind kind{};
  const char* name = "";
  std::string detail;  // " (1000 float32)"
  std::string what;    // "all_reduce #57 (1000 float32)", once queued
  Tensor t, out;
  ReduceOp reduce = ReduceOp::Sum;
  int root = 0;
  void* bytes = nullptr;
  size_t nbytes = 0;
  std::chrono::milliseconds limit{};
  Clock::time_point queued, started;
  // Owned by the communication thread.
  MPI_Request request = MPI_REQUEST_NULL;
  int64_t seq = 0;
  std::vector<int> peers;
  std::vector<int64_t> arrive_in, done_in;
  std::vector<MPI_Request> arrive_recv, done_recv, sends;

  void finish(std::string err) {
    {
      std::lock_guard lk(m_);
      finished_ = true;
      error_ = std::move(err);
    }
    cv_.notify_all();
  }
  bool done() override {
    std::lock_guard lk(m_);
    if (finished_ && !error_.empty()) throw DistributedError(error_);
    return finished_;
  }
  void wait() override {
    std::unique_lock lk(m_);
    // The thread reports a timeout itself; the grace covers a thread stuck
    // inside an MPI call, so that this wait is bounded whatever happens.
    const auto deadline = queued + limit + std::chrono::seconds(2);
    while (!finished_) {
      if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && !finished_)
        throw DistributedError(ember::detail::concat("distributed: ", what, " did not complete within ", limit.count(),
                                              " ms, and the communication thread did not report why"));
    }
    if (!error_.empty()) throw DistributedError(error_);
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool finished_ = false;
  std::string error_;
};

struct Comm {
  MPI_Comm coll = MPI_COMM_NULL, notices = MPI_COMM_NULL;
  int rank = 0, size = 1;
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Op>> queue;  // guarded by m
  bool stop = false;                      // guarded by m
  std::atomic<int> abort_code{-1};
  std::atomic<bool> running{false};
  std::string broken;  // the first failure; later collectives fail with it (thread only)
  std::vector<std::shared_ptr<Op>> stuck;  // failed: MPI may still use their buffers
  std::thread thread;
  int64_t next_seq = 0;  // guarded by m
};
Comm& comm() {
  static Comm c;
  return c;
}

std::string mpi_error(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return std::string(text, len);
}

MPI_Datatype mpi_type(DType d) {
  switch (d) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
    default: return MPI_DATATYPE_NULL;
  }
}

std::string rank_list(const std::vector<int>& ranks) {
  std::string s = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); ++i) s += (i ? ", " : "") + std::to_string(ranks[i]);
  return s;
}

// The peers whose receive in `reqs` has not completed (tests each).
std::vector<int> missing(const Op& op, std::vector<MPI_Request>& reqs) {
  std::vector<int> out;
  for (size_t i = 0; i < reqs.size(); ++i) {
    int flag = 0;
    MPI_Test(&reqs[i], &flag, MPI_STATUS_IGNORE);
    if (!flag) out.push_back(op.peers[i]);
  }
  return out;
}

// Posts the arrival notices, then starts the collective. Returns "" or why not.
std::string start(Comm& c, Op& op) {
  op.started = Clock::now();
  for (int p = 0; p < c.size; ++p)
    if (p != c.rank) op.peers.push_back(p);
  const size_t n = op.peers.size();
  op.arrive_in.assign(n, -1);
  op.done_in.assign(n, -1);
  op.arrive_recv.assign(n, MPI_REQUEST_NULL);
  op.done_recv.assign(n, MPI_REQUEST_NULL);
  op.sends.assign(2 * n, MPI_REQUEST_NULL);
  for (size_t i = 0; i < n; ++i) {
    MPI_Irecv(&op.arrive_in[i], 1, MPI_INT64_T, op.peers[i], kArriveTag, c.notices, &op.arrive_recv[i]);
    MPI_Irecv(&op.done_in[i], 1, MPI_INT64_T, op.peers[i], kDoneTag, c.notices, &op.done_recv[i]);
    MPI_Isend(&op.seq, 1, MPI_INT64_T, op.peers[i], kArriveTag, c.notices, &op.sends[i]);
  }
  int rc = MPI_SUCCESS;
  void* data = op.t.defined() ? op.t.raw_data() : nullptr;
  const int64_t nbytes = op.t.defined() ? op.t.numel() * static_cast<int64_t>(dtype_size(op.t.dtype())) : 0;
  if (nbytes > INT32_MAX) return ember::detail::concat(op.what, ": ", nbytes, " bytes is more than one MPI call can take");
  switch (op.kind) {
    case Kind::AllReduce:
      rc = MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(op.t.numel()), mpi_type(op.t.dtype()), MPI_SUM, c.coll,
                          &op.request);
      break;
    case Kind::Broadcast:
      rc = MPI_Ibcast(data, static_cast<int>(nbytes), MPI_BYTE, op.root, c.coll, &op.request);
      break;
    case Kind::AllGather:
      rc = MPI_Iallgather(data, static_cast<int>(nbytes), MPI_BYTE, op.out.raw_data(), static_cast<int>(nbytes),
                          MPI_BYTE, c.coll, &op.request);
      break;
    case Kind::Barrier: rc = MPI_Ibarrier(c.coll, &op.request); break;
    case Kind::Bytes:
      rc = MPI_Ibcast(op.bytes, static_cast<int>(op.nbytes), MPI_BYTE, op.root, c.coll, &op.request);
      break;
  }
  return rc == MPI_SUCCESS ? "" : ember::detail::concat("distributed: ", op.what, " failed to start: ", mpi_error(rc));
}

template <typename T>
void divide(const Tensor& t, int size) {
  T* p = static_cast<T*>(t.raw_data());
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] /= static_cast<T>(size);
}

// After the collective: the mean, the "done" notices.
void complete(Comm& c, Op& op) {
  if (op.kind == Kind::AllReduce && op.reduce == ReduceOp::Average) {
    if (op.t.dtype() == DType::Float32) divide<float>(op.t, c.size);
    else divide<double>(op.t, c.size);
  }
  if (op.t.defined()) op.t.bump_version();
  for (size_t i = 0; i < op.peers.size(); ++i)
    MPI_Isend(&op.seq, 1, MPI_INT64_T, op.peers[i], kDoneTag, c.notices, &op.sends[op.peers.size() + i]);
}

std::string timeout_message(Comm& c, Op& op) {
  std::string who;
  if (auto absent = missing(op, op.arrive_recv); !absent.empty())
    who = rank_list(absent) + " never arrived at it";
  else if (auto stalled = missing(op, op.done_recv); !stalled.empty())
    who = "every rank arrived, but " + rank_list(stalled) + " never reported completing it (stopped or dead)";
  else
    who = "every rank arrived and reported completing it, yet it did not complete here";
  return ember::detail::concat("distributed: ", op.what, " did not complete within ", op.limit.count() / 1000.0,
                        " s (EMBER_DIST_TIMEOUT or set_timeout) on rank ", c.rank, " of ", c.size, ": ", who,
                        ". The job cannot continue: end it with distributed::abort()");
}

bool all_done(std::vector<MPI_Request>& reqs) {
  int flag = 0;
  MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &flag, MPI_STATUSES_IGNORE);
  return flag;
}
bool notices_done(Op& op) { return all_done(op.arrive_recv) && all_done(op.done_recv) && all_done(op.sends); }

// At shutdown: waits for the last notices a while, then cancels the rest.
void drain(std::vector<std::shared_ptr<Op>>& draining) {
  const auto until = Clock::now() + std::chrono::seconds(5);
  while (!draining.empty() && Clock::now() < until) {
    std::erase_if(draining, [](const auto& op) { return notices_done(*op); });
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  for (auto& op : draining)
    for (auto* reqs : {&op->arrive_recv, &op->done_recv, &op->sends})
      for (auto& r : *reqs)
        if (r != MPI_REQUEST_NULL) {
          MPI_Cancel(&r);
          MPI_Request_free(&r);
        }
}

void run(Comm& c) {
  std::vector<std::shared_ptr<Op>> active, draining;
  auto idle = std::chrono::microseconds(20);
  for (;;) {
    std::deque<std::shared_ptr<Op>> fresh;
    bool stopping = false;
    {
      std::unique_lock lk(c.m);
      auto ready = [&] { return !c.queue.empty() || c.stop || c.abort_code >= 0; };
      if (active.empty() && draining.empty()) c.cv.wait(lk, ready);
      else c.cv.wait_for(lk, idle, ready);
      fresh.swap(c.queue);
      stopping = c.stop;
    }
    if (int code = c.abort_code.load(); code >= 0) MPI_Abort(MPI_COMM_WORLD, code);
    bool moved = !fresh.empty();
    for (auto& op : fresh) {
      std::string err = c.broken.empty() ? start(c, *op) : c.broken;
      if (!err.empty()) {
        if (c.broken.empty()) c.broken = err;
        c.stuck.push_back(op);
        op->finish(err);
      } else {
        active.push_back(op);
      }
    }
    for (size_t i = 0; i < active.size();) {
      Op& op = *active[i];
      int flag = 0;
      const int rc = MPI_Test(&op.request, &flag, MPI_STATUS_IGNORE);
      std::string err;
      if (rc != MPI_SUCCESS) err = ember::detail::concat("distributed: ", op.what, " failed: ", mpi_error(rc));
      else if (!flag && Clock::now() - op.started > op.limit) err = timeout_message(c, op);
      if (!err.empty()) {
        // The group is broken: this and every collective in flight fail.
        c.broken = err;
        for (auto& a : active) {
          c.stuck.push_back(a);
          a->finish(a.get() == &op ? err : ember::detail::concat("distributed: ", a->what, " abandoned: ", err));
        }
        active.clear();
        break;
      }
      if (flag) {
        // On the trace's "comm" lane: from the start to the moment the
        // polling saw it complete (docs/distributed.md's overlap figure).
        profiler::record_span(op.what, op.started, Clock::now());
        complete(c, op);
        op.finish("");
        draining.push_back(active[i]);
        active.erase(active.begin() + static_cast<std::ptrdiff_t>(i));
        moved = true;
      } else {
        ++i;
      }
    }
    std::erase_if(draining, [](const auto& op) { return notices_done(*op); });
    idle = moved ? std::chrono::microseconds(20) : std::min(idle * 2, std::chrono::microseconds(1000));
    if (stopping && active.empty()) {
      drain(draining);
      return;
    }
  }
}

std::shared_ptr<Work> submit(std::shared_ptr<Op> op) {
  Comm& c = comm();
  op->limit = timeout();
  op->queued = Clock::now();
  {
    std::lock_guard lk(c.m);
    EMBER_CHECK(c.running && !c.stop, DistributedError, "distributed: ", op->name,
                " after distributed::finalize()");
    op->seq = c.next_seq++;
    op->what = ember::detail::concat(op->name, " #", op->seq, op->detail);
    c.queue.push_back(op);
  }
  c.cv.notify_one();
  return op;
}

std::shared_ptr<Op> make_op(Kind kind, const char* name, const Tensor& t) {
  auto op = std::make_shared<Op>();
  op->kind = kind;
  op->t = t;
  op->name = name;
  if (t.defined()) op->detail = ember::detail::concat(" (", t.numel(), " ", dtype_name(t.dtype()), ")");
  return op;
}

}  // namespace

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

World mpi_init() {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
  EMBER_CHECK(provided >= MPI_THREAD_SERIALIZED, DistributedError,
              "distributed::init: this MPI provides thread level ", provided,
              "; Ember's communication thread needs MPI_THREAD_SERIALIZED (", MPI_THREAD_SERIALIZED, ")");
  Comm& c = comm();
  World w;
  w.mpi = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w.rank, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &w.local_rank);
  MPI_Comm_free(&local);
  // Collectives and notices on communicators of their own (Note [Arrival
  // notices]); errors come back as codes, which become DistributedErrors.
  MPI_Comm_dup(MPI_COMM_WORLD, &c.coll);
  MPI_Comm_dup(MPI_COMM_WORLD, &c.notices);
  MPI_Comm_set_errhandler(c.coll, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(c.notices, MPI_ERRORS_RETURN);
  c.rank = w.rank;
  c.size = w.size;
  c.running = true;
  c.thread = std::thread([&c] {
    profiler::set_lane_name("comm");  // the trace's lane for this thread's spans
    run(c);
  });
  return w;
}

std::shared_ptr<Work> mpi_barrier();

void mpi_finalize() {
  Comm& c = comm();
  if (!c.running) return;
  // MPI_Finalize waits for every peer, with no timeout: first a barrier
  // that has one, so that a peer stopped after the last collective breaks
  // the group (and finalize is skipped) instead of hanging this rank.
  if (c.broken.empty()) {
    try {
      mpi_barrier()->wait();
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
    }
  }
  c.running = false;
  {
    std::lock_guard lk(c.m);
    c.stop = true;
  }
  c.cv.notify_one();
  c.thread.join();
  // A broken group skips MPI_Finalize: it would wait for the silent peers.
  // mpirun then ends the job, as it does for any rank that exits without it.
  if (!c.broken.empty()) return;
  MPI_Comm_free(&c.coll);
  MPI_Comm_free(&c.notices);
  MPI_Finalize();
}

void mpi_abort(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  Comm& c = comm();
  if (c.running) {
    // The communication thread owns MPI (Note [One communication thread]).
    c.abort_code = code;
    c.cv.notify_one();
    std::this_thread::sleep_for(std::chrono::seconds(10));
  }
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

std::shared_ptr<Work> mpi_all_reduce(const Tensor& t, ReduceOp op) {
  auto o = make_op(Kind::AllReduce, "all_reduce", t);
  o->reduce = op;
  return submit(o);
}
std::shared_ptr<Work> mpi_broadcast(const Tensor& t, int root) {
  auto o = make_op(Kind::Broadcast, "broadcast", t);
  o->root = root;
  return submit(o);
}
std::shared_ptr<Work> mpi_all_gather(const Tensor& in, const Tensor& out) {
  auto o = make_op(Kind::AllGather, "all_gather", in);
  o->out = out;
  return submit(o);
}
std::shared_ptr<Work> mpi_barrier() { return submit(make_op(Kind::Barrier, "barrier", Tensor())); }

void mpi_broadcast_bytes(void* data, size_t nbytes, int root, const char* what) {
  auto o = make_op(Kind::Bytes, "broadcast", Tensor());
  o->detail = ember::detail::concat(" (", what, ", ", nbytes, " bytes)");
  o->bytes = data;
  o->nbytes = nbytes;
  o->root = root;
  submit(o)->wait();
}

}  // namespace ember::distributed::detail
