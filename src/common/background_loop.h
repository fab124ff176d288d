// A thread that does one kind of background work until its owner goes: the message log's
// time-stamps, the bulk jobs' batches, the replicas' sweep. It runs `step` again and again: straight
// on while the step answers true (more work waits), else after `pause` or at once on wake(). The
// destructor lets the step in progress finish and joins. Declare it last among its owner's members,
// so that it stops before what its step uses is destroyed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace jlis {

class BackgroundLoop {
 public:
  // `pause_first`: the first step one pause after the start (else at once).
  BackgroundLoop(std::function<bool()> step, std::chrono::milliseconds pause, bool pause_first);
  ~BackgroundLoop();
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  // Ends the pause in progress (or the next one) at once.
  void wake();

 private:
  void run();

  std::function<bool()> step_;
  std::chrono::milliseconds pause_;
  bool pause_first_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false, woken_ = false;
  std::thread thread_;
};

}  // namespace jlis
