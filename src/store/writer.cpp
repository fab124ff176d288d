#include "store/writer.h"

#include <future>

namespace jlis::store {

// What a queued item asks of the writer: a job, or a change of the held transaction.
enum ControlKind { kJob = 0, kHold = 1, kCommitHeld = 2, kRollbackHeld = 3 };

struct Writer::Pending {
  int control = kJob;
  Job job;
  Status result;
  std::function<void(Status)> then;  // submit(); otherwise a Ticket waits on `done`
  std::promise<void> done;
};

std::vector<Status> Writer::Ticket::wait() {
  std::vector<Status> results;
  results.reserve(pending_.size());
  for (auto& p : pending_) {
    p->done.get_future().wait();
    results.push_back(std::move(p->result));
  }
  pending_.clear();
  return results;
}

Result<std::unique_ptr<Writer>> Writer::start(Database& db, size_t max_batch) {
  JLIS_ASSIGN_OR_RETURN(auto conn, db.connect());
  return start(std::move(conn), max_batch);
}

Result<std::unique_ptr<Writer>> Writer::start(std::unique_ptr<Connection> conn, size_t max_batch) {
  return std::unique_ptr<Writer>(new Writer(std::move(conn), max_batch));
}

Writer::Writer(std::unique_ptr<Connection> conn, size_t max_batch)
    : conn_(std::move(conn)), max_batch_(max_batch), thread_([this] { loop(); }) {}

Writer::~Writer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status Writer::run(Job job) {
  std::vector<Job> jobs;
  jobs.push_back(std::move(job));
  return run_all(std::move(jobs))[0];
}

Writer::Ticket Writer::enqueue(std::vector<Job> jobs) {
  Ticket ticket;
  ticket.pending_.reserve(jobs.size());
  {
    std::lock_guard lock(mu_);
    for (auto& j : jobs) {
      auto p = std::make_shared<Pending>();
      p->job = std::move(j);
      queue_.push_back(p);
      ticket.pending_.push_back(std::move(p));
    }
  }
  cv_.notify_one();
  return ticket;
}

void Writer::submit(Job job, std::function<void(Status)> then) {
  auto p = std::make_shared<Pending>();
  p->job = std::move(job);
  p->then = std::move(then);
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(p));
  }
  cv_.notify_one();
}

Status Writer::queue_control(int kind) {
  auto p = std::make_shared<Pending>();
  p->control = kind;
  Ticket ticket;
  ticket.pending_.push_back(p);
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(p));
  }
  cv_.notify_one();
  return ticket.wait()[0];
}

Status Writer::hold() { return queue_control(kHold); }

Status Writer::release(bool commit) { return queue_control(commit ? kCommitHeld : kRollbackHeld); }

// SQLite: a held transaction (a bulk load, as large as the register) runs with a rollback journal
// instead of the WAL. In WAL mode the pages a transaction dirties beyond the page cache spill into
// the WAL, and every later cache miss searches the WAL's index block by block, so each miss costs
// in proportion to the transaction's size: a load of millions of residents slowed quadratically
// (12,991 residents/s in its first million, 1,460 in its fifth). With a rollback journal a spilled
// page is written to the database file and read back from it, and a page new to the file needs no
// journal entry, so the journal stays small and a rollback (or a crash) still undoes the whole load.
// SQLite changes the mode only for the database's one connection; with another open (a server on
// the same directory) it stays in WAL and the load runs as before. Answers whether it changed.
namespace {
bool rollback_journal(Connection& conn, bool on) {
  if (conn.dialect() != "sqlite") return false;
  auto mode = conn.query_text(on ? "PRAGMA journal_mode=DELETE" : "PRAGMA journal_mode=WAL");
  return mode.ok() && *mode == std::optional<std::string>(on ? "delete" : "wal");
}
}  // namespace

Status Writer::control(int kind) {
  if (kind == kHold) {
    if (holding_) return conflict("the writer already holds a transaction");
    held_journal_ = rollback_journal(*conn_, true);
    auto begin = [&] {
      auto tx = Transaction::begin(*conn_);
      // As for a batch: nothing has run yet, so a lost connection may reconnect on a second BEGIN.
      if (!tx.ok() && tx.status().code() == Code::unavailable) return Transaction::begin(*conn_);
      return tx;
    };
    auto tx = begin();
    if (!tx.ok()) {
      if (held_journal_) rollback_journal(*conn_, false);
      return tx.status();
    }
    held_.emplace(std::move(*tx));
    holding_ = true;
    held_failure_ = Status::ok();
    return Status::ok();
  }
  if (!holding_) return conflict("the writer holds no transaction");
  holding_ = false;
  Status out = held_failure_;
  held_failure_ = Status::ok();
  const bool commit = kind == kCommitHeld && out.is_ok();
  if (commit) out = held_->commit();
  held_.reset();  // rolls back unless committed (a failed load was rolled back already)
  if (held_journal_) rollback_journal(*conn_, false);
  if (kind == kRollbackHeld) return Status::ok();
  if (commit && out.is_ok()) {
    std::lock_guard lock(mu_);
    ++commits_;
  }
  return out;
}

void Writer::run_held(std::vector<std::shared_ptr<Pending>>& batch) {
  for (auto& p : batch) {
    if (!held_failure_.is_ok()) {
      p->result = conflict("the bulk load was rolled back: " + held_failure_.to_string());
      continue;
    }
    p->result = p->job(*conn_);
    if (!p->result.is_ok()) {
      held_failure_ = p->result;
      held_.reset();  // rolls the whole load back now
    }
  }
  std::lock_guard lock(mu_);
  jobs_ += batch.size();
}

uint64_t Writer::commits() const {
  std::lock_guard lock(mu_);
  return commits_;
}

uint64_t Writer::jobs() const {
  std::lock_guard lock(mu_);
  return jobs_;
}

size_t Writer::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::string Writer::metrics() const {
  std::lock_guard lock(mu_);
  return "# TYPE jlis_store_commits_total counter\njlis_store_commits_total " + std::to_string(commits_) +
         "\n# TYPE jlis_store_jobs_total counter\njlis_store_jobs_total " + std::to_string(jobs_) + "\n";
}

bool Writer::run_batch(std::vector<std::shared_ptr<Pending>>& batch, bool savepoints) {
  auto begin = [&] {
    auto t = Transaction::begin(*conn_);
    // Nothing of the batch has run yet, so it is safe to try once more: a connection lost since the
    // last batch (a PostgreSQL restart, an idle timeout) reconnects on this second BEGIN.
    if (!t.ok() && t.status().code() == Code::unavailable) return Transaction::begin(*conn_);
    return t;
  };
  auto tx = begin();
  if (!tx.ok()) {
    for (auto& p : batch) p->result = tx.status();
    return true;
  }
  for (auto& p : batch) {
    if (!savepoints) {
      p->result = p->job(*conn_);
      if (!p->result.is_ok()) return false;  // the Transaction rolls back on destruction
      continue;
    }
    Status s = conn_->execute("SAVEPOINT job").status();
    if (s.is_ok()) {
      s = p->job(*conn_);
      if (s.is_ok()) {
        s = conn_->execute("RELEASE SAVEPOINT job").status();
      } else {
        (void)conn_->execute("ROLLBACK TO SAVEPOINT job");
        (void)conn_->execute("RELEASE SAVEPOINT job");
      }
    }
    p->result = std::move(s);
  }
  Status c = tx->commit();
  if (!c.is_ok()) {
    for (auto& p : batch) p->result = c;
  } else {
    std::lock_guard lock(mu_);
    ++commits_;
    jobs_ += batch.size();
  }
  return true;
}

void Writer::loop() {
  for (;;) {
    std::vector<std::shared_ptr<Pending>> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      // Group commit: every job queued while the last batch ran shares this one's commit. A change
      // of the held transaction runs alone, after the jobs queued before it.
      if (queue_.front()->control != kJob) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      } else {
        while (!queue_.empty() && batch.size() < max_batch_ && queue_.front()->control == kJob) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
    }
    if (batch.front()->control != kJob) {
      batch.front()->result = control(batch.front()->control);
    } else if (holding_) {
      run_held(batch);
    } else if (!run_batch(batch, /*savepoints=*/false)) {
      // Most batches succeed whole; savepoints (which copy every page a job touches) only when not.
      run_batch(batch, /*savepoints=*/true);
    }
    for (auto& p : batch) {
      if (p->then) {
        p->then(std::move(p->result));
      } else {
        p->done.set_value();
      }
    }
  }
}

}  // namespace jlis::store
