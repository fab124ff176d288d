#include "http/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace jlis::http::internal {
namespace {

using namespace std::chrono_literals;

// Polls until `done` holds; false after a generous bound (a hang, not a speed limit).
template <class F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(WorkerPool, RunsEveryTask) {
  std::atomic<int> done{0};
  {
    WorkerPool pool(3);
    for (int i = 0; i < 10000; ++i) pool.post([&] { ++done; });
    while (done.load() < 10000) std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(done.load(), 10000);
}

TEST(WorkerPool, BlockedTaskDoesNotHoldOthersUp) {
  WorkerPool pool(2);
  std::atomic<bool> release{false};
  std::atomic<bool> blocking{false};
  std::atomic<int> done{0};
  pool.post([&] {
    blocking = true;
    while (!release.load()) std::this_thread::sleep_for(1ms);
  });
  // The blocker is running (and maybe was the poller); the bound only guards against a hang.
  ASSERT_TRUE(eventually([&] { return blocking.load(); }));
  for (int i = 0; i < 100; ++i) pool.post([&] { ++done; });
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (done.load() < 100 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(done.load(), 100);
  release = true;
}

TEST(WorkerPool, TasksPostedAfterIdleWakeASleeper) {
  WorkerPool pool(4);
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(5ms);  // every thread has gone to sleep
    std::atomic<bool> ran{false};
    pool.post([&] { ran = true; });
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (!ran.load() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100us);
    }
    EXPECT_TRUE(ran.load()) << round;
  }
}

TEST(WorkerPool, StopFinishesRunningAndDropsQueued) {
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  auto token = std::make_shared<int>(0);  // captured by queued tasks: must be released by stop()
  WorkerPool pool(1);
  pool.post([&] {
    ++started;
    std::this_thread::sleep_for(100ms);
    ++finished;
  });
  ASSERT_TRUE(eventually([&] { return started.load() == 1; }));  // the first task is running
  for (int i = 0; i < 5; ++i) pool.post([&, token] { ++started; });
  pool.stop();
  pool.stop();
  EXPECT_EQ(finished.load(), 1);
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(token.use_count(), 1);
}

}  // namespace
}  // namespace jlis::http::internal
