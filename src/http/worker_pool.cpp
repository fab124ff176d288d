#include "http/worker_pool.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace jlis::http::internal {

namespace {
// Long enough to bridge the gap between requests under load, short enough to be free when idle.
constexpr auto kSpin = std::chrono::microseconds(50);
thread_local bool t_on_worker = false;
}  // namespace

bool WorkerPool::on_worker() { return t_on_worker; }

WorkerPool::WorkerPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::post(std::function<void()> task) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
    queued_.store(queue_.size(), std::memory_order_relaxed);
    // A polling thread will see the task; otherwise someone has to be woken.
    wake = !spinning_ && sleeping_ > 0;
  }
  if (wake) wake_.notify_one();
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    stop_flag_.store(true, std::memory_order_relaxed);
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  std::lock_guard lock(mu_);
  queue_.clear();  // dropped unrun, outside any worker
  queued_.store(0, std::memory_order_relaxed);
}

void WorkerPool::run() {
  t_on_worker = true;
  std::unique_lock lock(mu_);
  bool polled = false;  // polled since the last task: sleep now
  for (;;) {
    if (stopping_) return;
    if (!queue_.empty()) {
      polled = false;
      std::function<void()> task = std::move(queue_.front());
      queue_.pop_front();
      queued_.store(queue_.size(), std::memory_order_relaxed);
      // This thread may block in the task: make sure the rest of the queue has a taker.
      const bool wake = !queue_.empty() && !spinning_ && sleeping_ > 0;
      lock.unlock();
      if (wake) wake_.notify_one();
      try {
        task();
      } catch (const std::exception& e) {  // tasks handle their own errors; this is a bug
        spdlog::error("http: worker task threw: {}", e.what());
      }
      task = nullptr;  // destroy captures before taking the lock again
      lock.lock();
      continue;
    }
    if (!spinning_ && !polled) {
      spinning_ = true;
      polled = true;
      lock.unlock();
      const auto deadline = std::chrono::steady_clock::now() + kSpin;
      while (queued_.load(std::memory_order_relaxed) == 0 &&
             !stop_flag_.load(std::memory_order_relaxed) &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
      lock.lock();
      spinning_ = false;
      continue;  // the queue is checked again under the lock, so no post is missed
    }
    polled = false;
    ++sleeping_;
    wake_.wait(lock);
    --sleeping_;
  }
}

}  // namespace jlis::http::internal
