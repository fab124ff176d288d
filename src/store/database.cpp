#include "store/database.h"

namespace jlis::store {

Result<std::optional<int64_t>> Connection::query_int64(std::string_view sql, const Params& params) {
  std::optional<int64_t> value;
  JLIS_RETURN_IF_ERROR(query(sql, params, [&](const Row& row) {
    if (!row.is_null(0)) value = row.int64(0);
    return false;
  }));
  return value;
}

Result<std::optional<std::string>> Connection::query_text(std::string_view sql, const Params& params) {
  std::optional<std::string> value;
  JLIS_RETURN_IF_ERROR(query(sql, params, [&](const Row& row) {
    if (!row.is_null(0)) value = row.text(0);
    return false;
  }));
  return value;
}

Result<Pool::Lease> Pool::acquire() {
  std::unique_ptr<Connection> conn;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!conn) {
    JLIS_ASSIGN_OR_RETURN(conn, db_->connect());
  }
  return Lease(conn.release(), [this](Connection* c) {
    std::lock_guard lock(mu_);
    idle_.emplace_back(c);
  });
}

void Pool::close_idle() {
  std::lock_guard lock(mu_);
  idle_.clear();
}

Status Pool::read(const std::function<Status(Connection&)>& reads) {
  JLIS_ASSIGN_OR_RETURN(auto conn, acquire());
  const bool sqlite = conn->dialect() == "sqlite";
  JLIS_RETURN_IF_ERROR(conn->execute(sqlite ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
  Status s = reads(*conn);
  Status ended = conn->execute(s.is_ok() ? "COMMIT" : "ROLLBACK").status();
  if (!ended.is_ok()) (void)conn->execute("ROLLBACK");  // never back to the pool inside a transaction
  return s.is_ok() ? ended : s;
}

Result<Transaction> Transaction::begin(Connection& conn) {
  // IMMEDIATE takes the write lock up front (SQLite), so a transaction never fails half-way
  // because another connection wrote first. PostgreSQL reads the same text as a plain BEGIN.
  auto sql = conn.dialect() == "sqlite" ? "BEGIN IMMEDIATE" : "BEGIN";
  JLIS_RETURN_IF_ERROR(conn.execute(sql).status());
  return Transaction(&conn);
}

Transaction::~Transaction() {
  if (conn_) (void)conn_->execute("ROLLBACK");
}

Status Transaction::commit() {
  if (!conn_) return internal_error("transaction already finished");
  Status s = conn_->execute("COMMIT").status();
  if (s.is_ok()) conn_ = nullptr;
  return s;
}

}  // namespace jlis::store
