// The single writer of a process: every change to the database runs here, one job after another on
// one connection, and jobs that arrive together share one transaction (group commit).
//
// A failed job leaves nothing behind and the others in its batch still commit: a batch first runs
// without savepoints; if any job fails, the whole transaction is rolled back and the batch runs again
// with a savepoint per job. So a job may run twice: it must act only through the connection and
// its own captured state, which its second run overwrites. The caller hears the outcome only after
// the batch committed, so "done" always means "in the database"; if the commit fails, every job of
// the batch fails. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/database.h"

namespace jlis::store {

class Writer {
 public:
  using Job = std::function<Status(Connection&)>;
  struct Pending;

  // The outcome of queued jobs, to wait for.
  class Ticket {
   public:
    // Blocks until every job of the ticket committed or failed; one Status per job, in order.
    std::vector<Status> wait();

   private:
    friend class Writer;
    std::vector<std::shared_ptr<Pending>> pending_;
  };

  // Takes its own connection from `db`. `max_batch` bounds the jobs per transaction: large enough
  // that a bulk load commits rarely (each commit rewrites every page it dirtied).
  static Result<std::unique_ptr<Writer>> start(Database& db, size_t max_batch = 65536);
  // Takes `conn`, a connection of the database it writes (one its opener used already).
  static Result<std::unique_ptr<Writer>> start(std::unique_ptr<Connection> conn, size_t max_batch = 65536);
  ~Writer();  // finishes queued jobs, then stops

  // Runs `job` in the writer's transaction and waits for the commit. Returns the job's own failure,
  // or the commit's. The job must not block on anything but the connection.
  Status run(Job job);
  // Queues jobs to run in order and returns at once; the jobs and what they capture must live
  // until the ticket has been waited for.
  Ticket enqueue(std::vector<Job> jobs);
  // Queues `job` and returns at once. `then` runs on the writer's thread with the job's outcome once
  // its batch has committed (or failed), as wait() would answer it; it must be quick, must not
  // block, and must not use the writer. For callers that answer from the commit instead of waiting.
  void submit(Job job, std::function<void(Status)> then);
  // enqueue(jobs).wait().
  std::vector<Status> run_all(std::vector<Job> jobs) { return enqueue(std::move(jobs)).wait(); }

  // A held transaction, for an exclusive bulk load (registry::BulkLoad): from hold() until
  // release(), every job runs inside one transaction that only release(true) commits, so the load
  // is all or nothing. While held, a job's ok means "applied in the held transaction", not
  // "committed": nothing but the load may write through this writer meanwhile (a CLI command's
  // load, never a server's traffic). The first job that fails rolls the whole held transaction back
  // at once; it answers its own failure and every later job until release() answers conflict
  // ("the bulk load was rolled back: ..."). Both wait for the jobs queued before them.
  // On SQLite the held transaction runs with a rollback journal, not the WAL, when the writer's is
  // the database's only connection (writer.cpp says why); release() sets WAL again.
  // hold(): conflict when already holding; the BEGIN's failure otherwise.
  Status hold();
  // release(true) commits and answers the COMMIT's status, or the first job failure (nothing
  // committed); release(false) rolls back and answers ok. conflict when not holding.
  Status release(bool commit);

  // Transactions committed and jobs run so far (for metrics).
  uint64_t commits() const;
  uint64_t jobs() const;
  // Jobs queued and not yet taken into a batch (tests use it to order operations deterministically).
  size_t queued() const;
  // Prometheus text for /metrics.
  std::string metrics() const;

 private:
  explicit Writer(std::unique_ptr<Connection> conn, size_t max_batch);
  void loop();
  // Runs the batch in one transaction; false when a job failed and the batch was rolled back.
  bool run_batch(std::vector<std::shared_ptr<Pending>>& batch, bool savepoints);
  // The same while a transaction is held: no BEGIN or COMMIT, and the first failure rolls it back.
  void run_held(std::vector<std::shared_ptr<Pending>>& batch);
  // hold() and release(): queued behind the jobs before them, and run on the writer's thread.
  Status queue_control(int kind);
  Status control(int kind);

  std::unique_ptr<Connection> conn_;
  // The held transaction (writer's thread only; declared after conn_, so destroyed, rolling back,
  // before it). held_failure_: the first job failure since hold(), which rolled it back.
  std::optional<Transaction> held_;
  bool holding_ = false;
  bool held_journal_ = false;  // the held transaction runs with SQLite's rollback journal (writer.cpp)
  Status held_failure_;
  size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Pending>> queue_;
  bool stopping_ = false;
  uint64_t commits_ = 0;
  uint64_t jobs_ = 0;
  std::thread thread_;
};

// Runs one job on the writer and answers the value it produced, or its failure, or the commit's.
template <class T, class F>
Result<T> run_for(Writer& writer, F&& job) {
  std::optional<Result<T>> out;
  Status s = writer.run([&](Connection& conn) {
    out.emplace(job(conn));  // a second run (see above) replaces the first's value
    return out->status();
  });
  if (!s.is_ok()) return s;
  return std::move(*out);
}

}  // namespace jlis::store
