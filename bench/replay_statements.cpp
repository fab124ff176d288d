// The bulk load's own statements through SQLite alone: replays what sqlite_statement_log recorded
// of a `jlis population generate --bulk` (every statement its writer ran, with the same values, in
// the same order) into a fresh data directory, through the store's own SQLite connection (the same
// VFS, settings and statement cache), with none of the load's code between the statements: no event
// preparation, no rules, no JSON. What is left is SQLite's work for the rows the load writes and
// for the reads its checks make, the bound of the load's design on this machine.
// Usage: replay_statements LOG DATA_DIR   (DATA_DIR fresh from `jlis init`)
// Prints the residents/s, then the statements that took the most time.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/data_dir.h"
#include "store/database.h"

namespace {

using jlis::store::Params;
using jlis::store::Value;

struct Record {
  char kind = 'S';  // 'S' a statement, 'X' a script, 'O' a connection opened
  uint64_t connection = 0;  // after read_log: the connection's 'O' record's index (its handle may be reused)
  uint32_t id = 0;  // 'S': the statement's text in `texts`
  uint32_t rows = 0;
  Params values;
  std::string script;  // 'X'
};

struct Reader {
  std::string bytes;
  size_t at = 0;
  bool more() const { return at < bytes.size(); }
  template <typename T>
  T get() {
    T v{};
    if (at + sizeof v > bytes.size()) throw std::runtime_error("the log ends inside a record");
    std::copy_n(bytes.data() + at, sizeof v, reinterpret_cast<char*>(&v));
    at += sizeof v;
    return v;
  }
  std::string text() {
    const auto n = get<uint32_t>();
    if (at + n > bytes.size()) throw std::runtime_error("the log ends inside a text");
    at += n;
    return bytes.substr(at - n, n);
  }
};

// The log's records and statement texts (see sqlite_statement_log.cpp for the format).
void read_log(const char* path, std::vector<Record>& records, std::map<uint32_t, std::string>& texts) {
  std::ifstream in(path, std::ios::binary);
  Reader r{std::string(std::istreambuf_iterator<char>(in), {})};
  while (r.more()) {
    const char kind = r.get<char>();
    if (kind == 'D') {
      const auto id = r.get<uint32_t>();
      texts[id] = r.text();
    } else if (kind == 'S') {
      Record rec;
      rec.kind = 'S';
      rec.connection = r.get<uint64_t>();
      rec.id = r.get<uint32_t>();
      rec.rows = r.get<uint32_t>();
      const auto n = r.get<uint32_t>();
      for (uint32_t i = 0; i < n; ++i) {
        const char type = r.get<char>();
        if (type == 'i') rec.values.emplace_back(r.get<int64_t>());
        else if (type == 't') rec.values.emplace_back(r.text());
        else rec.values.emplace_back(nullptr);
      }
      records.push_back(std::move(rec));
    } else if (kind == 'O') {
      Record rec;
      rec.kind = 'O';
      rec.connection = r.get<uint64_t>();
      records.push_back(std::move(rec));
    } else if (kind == 'X') {
      Record rec;
      rec.kind = 'X';
      rec.connection = r.get<uint64_t>();
      rec.script = r.text();
      records.push_back(std::move(rec));
    } else {
      throw std::runtime_error("unknown record kind in the log");
    }
  }
  std::map<uint64_t, uint64_t> opened;  // handle -> the index of its latest 'O'
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].kind == 'O') opened[records[i].connection] = i;
    records[i].connection = opened[records[i].connection];
  }
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::fprintf(stderr, "usage: replay_statements LOG DATA_DIR\n");
    return 2;
  }
  std::vector<Record> records;
  std::map<uint32_t, std::string> texts;
  read_log(argv[1], records, texts);
  // The writer's connection: the one that ran the most statements.
  std::map<uint64_t, size_t> per_connection;
  for (const Record& r : records) per_connection[r.connection] += r.kind == 'S';
  auto fewer = [](const auto& a, const auto& b) { return a.second < b.second; };
  const uint64_t writer = std::max_element(per_connection.begin(), per_connection.end(), fewer)->first;

  jlis::store::skip_sqlite_memory_statistics();  // as every command but `jlis serve`
  auto db = jlis::store::open_data_dir_database(argv[2], false);
  if (!db.ok()) throw std::runtime_error(db.status().message());
  auto conn = (*db)->connect();
  if (!conn.ok()) throw std::runtime_error(conn.status().message());
  jlis::store::Connection& c = **conn;

  struct Spent {
    size_t count = 0;
    double seconds = 0;
  };
  std::map<uint32_t, Spent> spent;
  size_t statements = 0;
  bool configured = false;  // the connection's first script is its settings, which connect() ran
  const auto start = std::chrono::steady_clock::now();
  for (const Record& r : records) {
    if (r.connection != writer || r.kind == 'O') continue;
    if (r.kind == 'X') {
      if (!configured) {
        configured = true;
        continue;
      }
      if (auto s = c.execute_script(r.script); !s.is_ok()) throw std::runtime_error(s.message());
      continue;
    }
    const auto before = std::chrono::steady_clock::now();
    uint32_t rows = 0;
    auto s = c.query(texts.at(r.id), r.values, [&](const jlis::store::Row&) { return ++rows < r.rows; });
    if (!s.is_ok()) throw std::runtime_error(texts.at(r.id) + ": " + s.message());
    Spent& e = spent[r.id];
    ++e.count;
    e.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - before).count();
    ++statements;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto residents = c.query_int64("SELECT COUNT(*) FROM residents");
  const double n = residents.ok() ? static_cast<double>(residents->value_or(0)) : 0;
  std::printf("replayed: %zu statements of the load's writer in %.1f s (%.0f residents/s)\n", statements, seconds,
              n / seconds);
  std::vector<std::pair<uint32_t, Spent>> top(spent.begin(), spent.end());
  std::sort(top.begin(), top.end(), [](auto& a, auto& b) { return a.second.seconds > b.second.seconds; });
  for (size_t i = 0; i < std::min<size_t>(top.size(), 12); ++i) {
    std::string text = texts.at(top[i].first);
    std::replace(text.begin(), text.end(), '\n', ' ');
    std::printf("  %5.1f %% %9zu x %5.1f us  %.100s\n", 100 * top[i].second.seconds / seconds, top[i].second.count,
                1e6 * top[i].second.seconds / static_cast<double>(top[i].second.count), text.c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "replay_statements: %s\n", e.what());
  return 1;
}
