// The single writer of a process: every change to the database runs here, one job after another on
// one connection, and jobs that arrive together share one transaction (group commit).
//
// A job runs inside its own savepoint: a job that fails is rolled back alone and the others in the
// batch still commit. The caller of run() is answered only after the batch committed, so "done"
// always means "in the database". If the commit itself fails, every job of the batch fails.
// Thread-safe; run() blocks the calling thread until its job committed or failed.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/database.h"

namespace jlis::store {

class Writer {
 public:
  using Job = std::function<Status(Connection&)>;

  // Takes its own connection from `db`. `max_batch` bounds the jobs per transaction.
  static Result<std::unique_ptr<Writer>> start(Database& db, size_t max_batch = 2048);
  ~Writer();  // finishes queued jobs, then stops

  // Runs `job` in the writer's transaction and waits for the commit. Returns the job's own failure,
  // or the commit's. The job must not block on anything but the connection.
  Status run(Job job);
  // Runs the jobs in order, in as few transactions as possible, and waits for them all; answers
  // one Status per job. For bulk work (population generation, migrations of data).
  std::vector<Status> run_all(std::vector<Job> jobs);

  // Transactions committed so far (for metrics).
  uint64_t commits() const;

 private:
  struct Pending;
  explicit Writer(std::unique_ptr<Connection> conn, size_t max_batch);
  void loop();

  std::unique_ptr<Connection> conn_;
  size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Pending>> queue_;
  bool stopping_ = false;
  uint64_t commits_ = 0;
  std::thread thread_;
};

}  // namespace jlis::store
