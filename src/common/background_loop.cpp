#include "common/background_loop.h"

namespace jlis {

BackgroundLoop::BackgroundLoop(std::function<bool()> step, std::chrono::milliseconds pause, bool pause_first)
    : step_(std::move(step)), pause_(pause), pause_first_(pause_first) {
  thread_ = std::thread([this] { run(); });
}

BackgroundLoop::~BackgroundLoop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void BackgroundLoop::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void BackgroundLoop::run() {
  std::unique_lock lock(mutex_);
  auto pause = [&] {
    wake_.wait_for(lock, pause_, [this] { return stopping_ || woken_; });
    woken_ = false;
  };
  if (pause_first_) pause();
  while (!stopping_) {
    lock.unlock();
    const bool more = step_();
    lock.lock();
    if (!more) pause();
  }
}

}  // namespace jlis
