// The thread pool behind parallel_for (see parallel.h).
//
// How one parallel_for runs:
//   1. The caller publishes a Job (the range, the chunk count, the body) and
//      wakes the workers with a condition variable.
//   2. Everyone, the caller included, takes chunk numbers from the job's
//      atomic counter until none are left. A worker that wakes late finds
//      nothing to do; one that is slow leaves more chunks to the others.
//   3. The caller withdraws the job (so no worker can start on it any more)
//      and waits until every worker that started on it has left it. Only then
//      does the Job, which lives on the caller's stack, go away.
// The first exception a chunk throws is kept and rethrown on the caller.
// One job runs at a time: a second thread calling parallel_for meanwhile
// (say a DataLoader worker) runs its range inline instead of waiting.
#include "ember/core/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ember/core/error.h"

#ifdef __linux__
#include <sched.h>
#endif

namespace ember {

namespace {

thread_local bool tls_in_parallel = false;

// Marks the current thread as running chunks, for as long as it lives.
struct InParallelScope {
  bool old = tls_in_parallel;
  InParallelScope() { tls_in_parallel = true; }
  ~InParallelScope() { tls_in_parallel = old; }
};

struct Job {
  int64_t begin, end, num_chunks, chunk_size;
  detail::ChunkFn fn;
  std::atomic<int64_t> next_chunk{0};
  std::mutex error_mutex;
  std::exception_ptr error;

  // Takes chunks until none are left; called by the caller and the workers.
  void run_chunks() {
    InParallelScope scope;
    for (int64_t c; (c = next_chunk.fetch_add(1)) < num_chunks;) {
      const int64_t b = begin + c * chunk_size, e = std::min(end, b + chunk_size);
      try {
        fn.call(fn.ctx, b, e);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next_chunk = num_chunks;  // stop handing out chunks
      }
    }
  }
};

int default_num_threads() {
  if (const char* env = std::getenv("EMBER_NUM_THREADS"); env && *env) {
    char* rest = nullptr;
    const long n = std::strtol(env, &rest, 10);
    EMBER_CHECK(*rest == '\0' && n >= 1 && n <= 1024, ValueError, "EMBER_NUM_THREADS=", env,
                ": expected a whole number of threads from 1 to 1024");
    return static_cast<int>(n);
  }
#ifdef __linux__
  cpu_set_t set;  // the cores this process may run on (a container may get fewer than the machine has)
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

class ThreadPool {
 public:
  ~ThreadPool() { stop_workers(); }

  int num_threads() {
    int n = num_threads_.load();
    if (n == 0) {  // first use: read the environment once
      int expected = 0;
      num_threads_.compare_exchange_strong(expected, default_num_threads());
      n = num_threads_.load();
    }
    return n;
  }

  void set_num_threads(int n) {
    EMBER_CHECK(n >= 1, ValueError, "set_num_threads: the thread count must be at least 1, got ", n);
    EMBER_CHECK(!tls_in_parallel, ValueError, "set_num_threads: cannot be called from inside parallel_for");
    std::lock_guard<std::mutex> submit(submit_mutex_);
    stop_workers();  // restarted lazily, at the new count, by the next job
    num_threads_ = n;
  }

  void run(int64_t begin, int64_t end, int64_t num_chunks, detail::ChunkFn fn) {
    Job job;
    job.begin = begin;
    job.end = end;
    job.num_chunks = num_chunks;
    job.chunk_size = (end - begin + num_chunks - 1) / num_chunks;
    job.num_chunks = (end - begin + job.chunk_size - 1) / job.chunk_size;  // 5 in 4 chunks: 2+2+1, 3 chunks
    job.fn = fn;
    std::unique_lock<std::mutex> submit(submit_mutex_, std::try_to_lock);
    if (!submit.owns_lock()) {  // another thread's job is running: do ours here
      job.run_chunks();
    } else {
      start_workers();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = &job;
        ++generation_;
      }
      work_ready_.notify_all();
      job.run_chunks();
      std::unique_lock<std::mutex> lock(mutex_);
      job_ = nullptr;  // late wakers now find nothing
      job_left_.wait(lock, [&] { return busy_workers_ == 0; });
    }
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  void start_workers() {
    const int wanted = num_threads() - 1;  // the caller is the last thread
    uint64_t now;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      now = generation_;
    }
    // A new worker starts from the generation before the job about to be
    // published, so it takes part in that job even if it starts late.
    while (static_cast<int>(workers_.size()) < wanted) workers_.emplace_back([this, now] { worker_loop(now); });
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    work_ready_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stopping_ = false;
  }

  void worker_loop(uint64_t seen) {
    while (true) {
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        if (!job_) continue;  // woke after that job was withdrawn
        job = job_;
        ++busy_workers_;
      }
      job->run_chunks();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --busy_workers_;
      }
      job_left_.notify_all();
    }
  }

  std::atomic<int> num_threads_{0};  // 0 until first read or set
  std::mutex submit_mutex_;  // held by the one thread whose job is on the pool
  std::mutex mutex_;         // guards everything below
  std::condition_variable work_ready_, job_left_;
  std::vector<std::thread> workers_;
  Job* job_ = nullptr;
  uint64_t generation_ = 0;
  int busy_workers_ = 0;
  bool stopping_ = false;
};

ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool();  // never destroyed: kernels may run during static destruction
  return *p;
}

}  // namespace

void set_num_threads(int n) { pool().set_num_threads(n); }
int get_num_threads() { return pool().num_threads(); }
bool in_parallel_region() { return tls_in_parallel; }

namespace detail {
void parallel_run(int64_t begin, int64_t end, int64_t num_chunks, ChunkFn fn) {
  pool().run(begin, end, num_chunks, fn);
}
}  // namespace detail

}  // namespace ember
