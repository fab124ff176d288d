// PostgreSQL backend (libpq): the same portable SQL as sqlite.cpp, prepared once per connection.
#include <libpq-fe.h>
#include <poll.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>

#include "store/database.h"
#include "store/libpq_handles.h"

namespace jlis::store {
namespace {

constexpr Oid kInt8Oid = 20;  // bigint, from catalog/pg_type.h (a server header)

using internal::ConnPtr;
using internal::ResultPtr;

class PgRow final : public Row {
 public:
  PgRow(const PGresult* r, int row) : r_(r), row_(row) {}
  int columns() const override { return PQnfields(r_); }
  bool is_null(int c) const override { return PQgetisnull(r_, row_, c) != 0; }
  int64_t int64(int c) const override {
    if (is_null(c)) return 0;
    const char* v = PQgetvalue(r_, row_, c);
    if (v[0] == 't' && v[1] == '\0') return 1;  // booleans (EXISTS, comparisons) read as 0/1
    if (v[0] == 'f' && v[1] == '\0') return 0;
    return std::strtoll(v, nullptr, 10);
  }
  std::string text(int c) const override {
    if (is_null(c)) return {};
    return std::string(PQgetvalue(r_, row_, c), static_cast<size_t>(PQgetlength(r_, row_, c)));
  }

 private:
  const PGresult* r_;
  int row_;
};

// `?` → $1, $2 ... outside string literals, quoted identifiers and comments.
std::string rewrite_placeholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'' || c == '"') {
      size_t end = sql.find(c, i + 1);  // a doubled quote is two adjacent literals: same result
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (c == '?') {
      out += '$' + std::to_string(++n);
    } else {
      out += c;
    }
  }
  *count = n;
  return out;
}

bool starts_with_word(std::string_view sql, std::string_view word) {
  size_t i = sql.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos || sql.size() - i < word.size()) return false;
  for (size_t k = 0; k < word.size(); ++k)
    if (std::toupper(static_cast<unsigned char>(sql[i + k])) != word[k]) return false;
  return true;
}

// ROLLBACK (or ABORT), which ends the transaction; not ROLLBACK TO SAVEPOINT, which stays inside it.
bool ends_transaction(std::string_view sql) {
  if (starts_with_word(sql, "ABORT")) return true;
  if (!starts_with_word(sql, "ROLLBACK")) return false;
  std::string_view rest = sql.substr(sql.find_first_not_of(" \t\r\n") + 8);
  return !starts_with_word(rest, "TO") && !starts_with_word(rest, "PREPARED");
}

class PgConnection final : public Connection {
 public:
  // `home`: "host:port" of the node this connection should be on when it can (the first host of a
  // read store's URI); "" when any host will do.
  PgConnection(ConnPtr conn, std::string home) : conn_(std::move(conn)), home_(std::move(home)) {
    // The server's last words before it ends a session reach an idle connection as a notice of
    // severity FATAL (libpq hands such an unexpected error to the notice hooks): remember them, so
    // that the next statement outside a transaction goes to a new session. Other notices (warnings,
    // CREATE … IF NOT EXISTS) are not errors: dropped, kept off stderr.
    PQsetNoticeReceiver(conn_.get(), [](void* self, const PGresult* r) {
      const char* severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
      if (severity && (std::string_view(severity) == "FATAL" || std::string_view(severity) == "PANIC"))
        static_cast<PgConnection*>(self)->ended_ = true;
    }, this);
  }

  Result<int64_t> execute(std::string_view sql, const Params& params) override {
    int64_t changed = 0;
    JLIS_RETURN_IF_ERROR(run(sql, params, nullptr, &changed));
    return changed;
  }

  Status query(std::string_view sql, const Params& params,
               const std::function<bool(const Row&)>& on_row) override {
    return run(sql, params, &on_row, nullptr);
  }

  Status execute_script(std::string_view sql) override {
    JLIS_RETURN_IF_ERROR(usable(sql));
    ResultPtr r(PQexec(conn_.get(), std::string(sql).c_str()));
    return check(r.get(), sql);
  }

  std::string_view dialect() const override { return "postgresql"; }

 private:
  struct Prepared {
    std::string name;
    int params;
  };

  // Makes sure the connection can take `sql`: reconnects a connection lost outside a transaction;
  // refuses everything but ROLLBACK on one lost inside a transaction.
  Status usable(std::string_view sql) {
    if (!in_transaction_) {
      notice_an_ended_session();
      if (ended_ || away_from_home()) reconnect_ = true;
    }
    if (PQstatus(conn_.get()) == CONNECTION_OK && !(reconnect_ && !in_transaction_)) return Status::ok();
    if (in_transaction_ && !ends_transaction(sql))
      return unavailable("postgresql: the connection was lost inside a transaction; it was rolled back");
    in_transaction_ = false;
    reconnect_ = false;
    ended_ = false;
    cache_.clear();  // prepared statements die with the session
    PQreset(conn_.get());  // a multi-host URI tries every host again: after a failover, the new primary
    if (PQstatus(conn_.get()) != CONNECTION_OK)
      return unavailable(std::string("postgresql: cannot reconnect: ") + PQerrorMessage(conn_.get()));
    return Status::ok();
  }

  // A session the server ended while this connection sat idle (a node's shutdown, a
  // pg_terminate_backend) left its last words and an end of file in the socket, which libpq reads
  // only when asked: read and parse them now (a poll first, so an idle healthy socket costs one
  // system call). The FATAL sets ended_ (above), the end of file the connection's status; either way
  // the next statement goes to a new session. Nothing was sent yet, so nothing runs twice.
  void notice_an_ended_session() {
    pollfd fd{PQsocket(conn_.get()), POLLIN, 0};
    if (PQstatus(conn_.get()) == CONNECTION_OK && ::poll(&fd, 1, 0) == 1 && PQconsumeInput(conn_.get()))
      (void)PQisBusy(conn_.get());
  }

  // True when this connection fell back to another host while its home was down, and it is time to
  // try the home again (at most every kHomeRetry): after a failover the dead node comes back as a
  // standby, and the centre's reads should come from it again.
  bool away_from_home() {
    static constexpr auto kHomeRetry = std::chrono::seconds(5);
    if (home_.empty() || PQstatus(conn_.get()) != CONNECTION_OK) return false;
    const char* host = PQhost(conn_.get());
    const char* port = PQport(conn_.get());
    if (host && port && home_ == std::string(host) + ":" + port) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_home_try_ < kHomeRetry) return false;
    last_home_try_ = now;
    return true;
  }

  Status run(std::string_view sql, const Params& params, const std::function<bool(const Row&)>* on_row,
             int64_t* changed) {
    // A query outside a transaction whose connection was lost (its server died, or a failover moved
    // the store) runs once more on a new connection: it changed nothing, so running it again is safe.
    const bool retryable = !in_transaction_ && (starts_with_word(sql, "SELECT") || starts_with_word(sql, "WITH"));
    Status s = run_once(sql, params, on_row, changed);
    if (!s.is_ok() && s.code() == Code::unavailable && retryable && PQstatus(conn_.get()) != CONNECTION_OK)
      s = run_once(sql, params, on_row, changed);
    return s;
  }

  Status run_once(std::string_view sql, const Params& params, const std::function<bool(const Row&)>* on_row,
                  int64_t* changed) {
    JLIS_RETURN_IF_ERROR(usable(sql));
    std::string key(sql);
    key += '\x01';
    std::vector<Oid> types(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      const bool integer = std::holds_alternative<int64_t>(params[i]);
      key += integer ? 'i' : 'u';
      if (integer) types[i] = kInt8Oid;
    }
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      int count = 0;
      std::string text = rewrite_placeholders(sql, &count);
      if (count != static_cast<int>(params.size()))
        return internal_error("postgresql: wrong number of parameters");
      std::string name = "s" + std::to_string(next_statement_++);
      ResultPtr r(PQprepare(conn_.get(), name.c_str(), text.c_str(), count, types.data()));
      JLIS_RETURN_IF_ERROR(check(r.get(), sql));
      it = cache_.emplace(std::move(key), Prepared{std::move(name), count}).first;
    }
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (const auto* v = std::get_if<int64_t>(&params[i])) {
        storage[i] = std::to_string(*v);
        values[i] = storage[i].c_str();
      } else if (const auto* t = std::get_if<std::string>(&params[i])) {
        values[i] = t->c_str();  // text parameters end at the first NUL, like SQLite's C strings
      }
    }
    ResultPtr r(PQexecPrepared(conn_.get(), it->second.name.c_str(), static_cast<int>(values.size()),
                               values.data(), nullptr, nullptr, 0));
    JLIS_RETURN_IF_ERROR(check(r.get(), sql));
    if (changed) {
      const char* tuples = PQcmdTuples(r.get());
      *changed = tuples[0] ? std::strtoll(tuples, nullptr, 10) : 0;
    }
    if (on_row) {
      const int rows = PQntuples(r.get());
      for (int i = 0; i < rows; ++i) {
        PgRow row(r.get(), i);
        if (!(*on_row)(row)) break;
      }
    }
    return Status::ok();
  }

  // Maps a result to a Status, and tracks whether a transaction is open.
  Status check(const PGresult* r, std::string_view sql) {
    const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    const bool lost = PQstatus(conn_.get()) != CONNECTION_OK;
    if (!lost) {
      const PGTransactionStatusType tx = PQtransactionStatus(conn_.get());
      in_transaction_ = tx == PQTRANS_INTRANS || tx == PQTRANS_INERROR;
    } else if (ends_transaction(sql)) {
      // A ROLLBACK that found the session gone (ended while idle, noticed only now): the server
      // rolled the transaction back with the session, and the caller has ended it; the next
      // statement reconnects. Left set, every later BEGIN would be refused for good.
      in_transaction_ = false;
    }
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return Status::ok();
    std::string message = "postgresql: ";
    const char* m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    message += m ? m : PQerrorMessage(conn_.get());
    if (lost) {
      if (starts_with_word(sql, "COMMIT") || starts_with_word(sql, "END"))
        return unavailable("postgresql: the connection was lost during COMMIT; the outcome of the "
                           "transaction is unknown (" + message + ")");
      return unavailable(message);
    }
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state ? state : "";
    if (sqlstate.rfind("23", 0) == 0) return conflict(message);
    if (sqlstate == "25006") {
      // A write reached a standby: this connection's server was demoted (a switchover) since it
      // connected. The next statement outside a transaction reconnects, through a multi-host URI
      // with target_session_attrs=read-write to the new primary.
      reconnect_ = true;
      return unavailable(message);
    }
    if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01")
      return unavailable(message);
    return internal_error(message);
  }

  ConnPtr conn_;
  bool in_transaction_ = false;
  bool reconnect_ = false;
  bool ended_ = false;  // the server said it ends this session (a FATAL notice while idle)
  std::string home_;
  std::chrono::steady_clock::time_point last_home_try_ = std::chrono::steady_clock::now();
  uint64_t next_statement_ = 0;
  std::unordered_map<std::string, Prepared> cache_;
};

Result<ConnPtr> open_connection(const std::string& url, const std::string& synchronous_commit) {
  // The URI first, then our options, which win over the URI's; PQreset reuses both.
  const std::string options = synchronous_commit.empty() ? "" : "-c synchronous_commit=" + synchronous_commit;
  const char* keys[] = {"dbname", options.empty() ? nullptr : "options", nullptr};
  const char* values[] = {url.c_str(), options.c_str(), nullptr};
  ConnPtr conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!conn) return unavailable("postgresql: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string m = PQerrorMessage(conn.get());
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return unavailable("cannot connect to PostgreSQL: " + m);
  }
  return conn;  // its notices go to PgConnection's receiver
}

class PgDatabase final : public Database {
 public:
  PgDatabase(std::string url, std::string synchronous_commit, std::string home)
      : url_(std::move(url)), synchronous_commit_(std::move(synchronous_commit)), home_(std::move(home)) {}

  Result<std::unique_ptr<Connection>> connect() override {
    {
      std::lock_guard lock(mu_);
      if (spare_) return std::move(spare_);
    }
    JLIS_ASSIGN_OR_RETURN(auto conn, open_connection(url_, synchronous_commit_));
    return std::unique_ptr<Connection>(std::make_unique<PgConnection>(std::move(conn), home_));
  }

  // The next connect() answers `conn` (open_postgresql's probe): a server process fewer per jlis.
  void keep(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mu_);
    spare_ = std::move(conn);
  }

 private:
  std::string url_;
  std::string synchronous_commit_;
  std::string home_;
  std::mutex mu_;
  std::unique_ptr<Connection> spare_;
};

// "host:port" of the first host of `url`, "" when it cannot be parsed.
std::string first_host(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (!options) {
    PQfreemem(error);
    return "";
  }
  std::string host, port;
  for (auto* o = options; o->keyword; ++o) {
    if (!o->val) continue;
    if (std::string_view(o->keyword) == "host") host = o->val;
    if (std::string_view(o->keyword) == "port") port = o->val;
  }
  PQconninfoFree(options);
  host = host.substr(0, host.find(','));
  port = port.substr(0, port.find(','));
  return host + ":" + (port.empty() ? "5432" : port);
}

}  // namespace

bool is_postgresql_url(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

Result<std::unique_ptr<Database>> open_postgresql(const std::string& url, PostgresqlOptions options) {
  if (!options.synchronous_commit.empty() && options.synchronous_commit != "on" &&
      options.synchronous_commit != "remote_apply" && options.synchronous_commit != "remote_write")
    return invalid_argument("synchronous_commit must be on, remote_write or remote_apply");
  auto db = std::make_unique<PgDatabase>(url, options.synchronous_commit,
                                         options.prefer_first_host ? first_host(url) : std::string());
  // One connection now, so that an unreachable server fails here, and the schemas exist before any
  // migration names them.
  JLIS_ASSIGN_OR_RETURN(auto probe, db->connect());
  // Text sorts and compares byte by byte, as on SQLite (range scans, ORDER BY, prefixes): only the
  // C collation does that. A database created with a language's collation is refused, with the fix.
  std::string collation;
  JLIS_RETURN_IF_ERROR(probe->query("SELECT datcollate FROM pg_database WHERE datname = current_database()", {},
                                    [&](const Row& r) {
                                      collation = r.text(0);
                                      return false;
                                    }));
  if (collation != "C" && collation != "POSIX")
    return invalid_argument("the PostgreSQL database has the collation '" + collation +
                            "'; OpenJLIS needs byte order: CREATE DATABASE … TEMPLATE template0 ENCODING 'UTF8' "
                            "LOCALE 'C'");
  for (const auto& schema : options.schemas) {
    Status s = probe->execute_script("CREATE SCHEMA IF NOT EXISTS " + schema);
    if (!s.is_ok() && s.code() != Code::conflict) return s;  // conflict: another process made it
  }
  db->keep(std::move(probe));
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace jlis::store
