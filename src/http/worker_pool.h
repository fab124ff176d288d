// Private to the HTTP server: the threads that run (possibly blocking) handlers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace jlis::http::internal {

// A fixed set of threads taking tasks from one queue.
//
// Why not asio::thread_pool: handing every request to a sleeping thread costs a futex wake-up and a
// context switch, which measured as the largest cost per request. Here one idle thread at a time
// keeps polling the queue for a short while (yielding the CPU) before it sleeps, so under load
// tasks are picked up without waking anybody; an idle server still sleeps.
class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void post(std::function<void()> task);
  // True on a thread of any WorkerPool.
  static bool on_worker();
  // Lets running tasks finish, drops queued ones, joins the threads. Idempotent.
  void stop();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  std::atomic<size_t> queued_{0};            // queue_.size(), readable without the lock
  bool stopping_ = false;                    // guarded by mu_
  bool spinning_ = false;                    // guarded by mu_: one thread is polling
  int sleeping_ = 0;                         // guarded by mu_
  std::atomic<bool> stop_flag_{false};       // stopping_, readable without the lock
  std::vector<std::thread> threads_;
};

}  // namespace jlis::http::internal
