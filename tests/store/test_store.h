// The store the tests run on, chosen by the environment (tests/CMakeLists.txt registers every
// store-touching test twice: as is on SQLite, and with the suffix _pg on PostgreSQL):
//   JLIS_TEST_STORE unset          SQLite in the test's directory;
//   JLIS_TEST_STORE=postgresql://  a server (its maintenance database): each TestStore creates a
//                                  fresh database on it (CREATE DATABASE … TEMPLATE template0) and
//                                  drops it when destroyed;
//   JLIS_TEST_STORE=@FILE          the URI is in FILE (written by tests/store/postgres_server.sh,
//                                  the ctest fixture that starts the server once per run).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "store/data_dir.h"
#include "store/database.h"

namespace jlis::store::testing {

// The PostgreSQL server to test on, or "" for SQLite.
inline std::string test_store_server() {
  const char* env = std::getenv("JLIS_TEST_STORE");
  std::string v = env ? env : "";
  if (!v.empty() && v[0] == '@') {
    std::ifstream in(v.substr(1));
    v.clear();
    std::getline(in, v);
    if (v.empty()) std::abort();  // the fixture did not start the server: fail loudly, never fall back
  }
  return v;
}

inline bool testing_on_postgresql() { return !test_store_server().empty(); }

// The URI of database `name` on the test server.
inline std::string test_database_url(const std::string& name) {
  const std::string server = test_store_server();
  return server.substr(0, server.rfind('/') + 1) + name;
}

// A connection to the test server's maintenance database, for creating and dropping databases.
inline std::unique_ptr<Connection> test_server_admin() {
  auto db = open_postgresql(test_store_server());
  if (!db.ok()) std::abort();
  auto conn = (*db)->connect();
  if (!conn.ok()) std::abort();
  return std::move(*conn);
}

// True when database `name` exists on the test server.
inline bool test_database_exists(const std::string& name) {
  auto n = test_server_admin()->query_int64("SELECT COUNT(*) FROM pg_database WHERE datname = ?", {name});
  return n.ok() && n->value_or(0) == 1;
}

// Creates database `name` on the test server: empty, or a copy of the database `copy_of`, which
// nobody may be connected to. Aborts when it cannot.
inline void create_test_database(const std::string& name, const std::string& copy_of = "template0") {
  Status s = test_server_admin()->execute_script("CREATE DATABASE " + name + " TEMPLATE " + copy_of +
                                                 " ENCODING 'UTF8' LOCALE 'C' STRATEGY FILE_COPY");
  if (!s.is_ok()) std::abort();
}

// One test's store: on PostgreSQL a database of its own (empty, or a copy of the database
// `copy_of`, which nobody may be connected to), dropped at destruction.
class TestStore {
 public:
  explicit TestStore(const std::string& copy_of = "template0") {
    server_ = test_store_server();
    if (server_.empty()) return;
    static std::atomic<int> counter{0};
    std::random_device rd;
    name_ = "jlis_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + std::to_string(rd() % 100000);
    create_test_database(name_, copy_of);
    admin_ = test_server_admin();
    url_ = test_database_url(name_);
  }
  ~TestStore() {
    if (admin_) (void)admin_->execute_script("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  TestStore(const TestStore&) = delete;
  TestStore& operator=(const TestStore&) = delete;

  bool postgresql() const { return !url_.empty(); }
  // The PostgreSQL URI of this test's database ("" on SQLite).
  const std::string& url() const { return url_; }

  // A data directory at `dir` on this store (jlis init's directory, without the keys).
  Result<std::unique_ptr<Database>> open_data_dir(const std::string& dir) {
    JLIS_RETURN_IF_ERROR(init_data_dir(dir, false, url_));
    return open_data_dir_database(dir, /*create=*/true);
  }
  // A bare database: SQLite at `sqlite_path`, or this test's PostgreSQL database.
  Result<std::unique_ptr<Database>> open(const std::string& sqlite_path) {
    if (url_.empty()) return open_sqlite(sqlite_path, {.create = true});
    return open_postgresql(url_);
  }

 private:
  std::string server_, name_, url_;
  std::unique_ptr<Connection> admin_;
};

}  // namespace jlis::store::testing
