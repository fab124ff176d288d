#include "store/data_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "store/centre.h"

namespace jlis::store {
namespace {

namespace fs = std::filesystem;
constexpr const char* kMarker = "openjlis-data";
constexpr const char* kMarkerText = "OpenJLIS data directory, format 1\n";
constexpr const char* kSimulationMarker = "simulation";
constexpr const char* kStoreFile = "store";  // the PostgreSQL URI, when the store is not jlis.db
constexpr const char* kSqliteSyncFile = "sqlite-synchronous";  // "normal" or "full"

}  // namespace

std::string database_path(const std::string& dir) { return (fs::path(dir) / "jlis.db").string(); }

std::string data_dir_store(const std::string& dir) {
  std::ifstream in(fs::path(dir) / kStoreFile);
  std::string url;
  std::getline(in, url);
  return url;
}

std::string_view sqlite_sync_name(SqliteSync sync) { return sync == SqliteSync::full ? "full" : "normal"; }

Result<SqliteSync> parse_sqlite_sync(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "normal") return SqliteSync::normal;
  if (lower == "full") return SqliteSync::full;
  return invalid_argument("the SQLite synchronous setting is normal or full, not '" + std::string(text) + "'");
}

Result<SqliteSync> data_dir_sqlite_sync(const std::string& dir) {
  const fs::path file = fs::path(dir) / kSqliteSyncFile;
  std::error_code ec;
  if (!fs::exists(file, ec)) return SqliteSync::normal;
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  auto sync = parse_sqlite_sync(text);
  if (!sync.ok()) return invalid_argument(file.string() + ": " + sync.status().message());
  return sync;
}

Status set_data_dir_sqlite_sync(const std::string& dir, SqliteSync sync) {
  if (!data_dir_store(dir).empty())
    return invalid_argument("--sqlite-synchronous is the SQLite store's setting; on PostgreSQL a commit is as durable "
                            "as the server's synchronous_commit and fsync make it");
  const fs::path file = fs::path(dir) / kSqliteSyncFile;
  const std::string tmp = file.string() + ".tmp";
  const std::string text = std::string(sqlite_sync_name(sync)) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return internal_error("cannot write " + tmp);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  std::error_code ec;
  if (written) fs::rename(tmp, file, ec);
  if (!written || ec) {
    fs::remove(tmp, ec);
    return internal_error("cannot record the SQLite synchronous setting in " + dir);
  }
  return Status::ok();
}

Result<std::unique_ptr<Database>> open_data_dir_database(const std::string& dir, bool create) {
  if (std::string url = data_dir_store(dir); !url.empty()) {
    // Two centres: COMMIT waits until the synchronous standby has applied the change, so that the
    // reads each centre serves from its own node see every change either acknowledged.
    const bool centres = !data_dir_centre(dir).read_store.empty();
    return open_postgresql(url, {.schemas = {"audit"}, .synchronous_commit = centres ? "remote_apply" : ""});
  }
  JLIS_ASSIGN_OR_RETURN(const SqliteSync sync, data_dir_sqlite_sync(dir));
  return open_sqlite(database_path(dir), {.create = create,
                                          .attach = {{"audit", (fs::path(dir) / "audit.db").string()}},
                                          .synchronous_full = sync == SqliteSync::full});
}

bool is_simulation(const std::string& dir) {
  std::error_code ec;
  return fs::exists(fs::path(dir) / kSimulationMarker, ec);
}

Status init_data_dir(const std::string& dir, bool simulation, const std::string& store) {
  std::error_code ec;
  if (!store.empty() && !is_postgresql_url(store))
    return invalid_argument("--store must be a PostgreSQL URI (postgresql://user@host:port/database)");
  if (fs::exists(fs::path(dir) / kMarker, ec)) {
    if (simulation != is_simulation(dir))
      return invalid_argument(dir + (simulation ? " exists and is not a simulation" : " exists and is a simulation (init --simulation)"));
    if (!store.empty() && store != data_dir_store(dir))
      return invalid_argument(dir + " exists with another store; a data directory keeps the store it was created with");
    return Status::ok();
  }
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
    return invalid_argument(dir + " exists, is not empty and is not an OpenJLIS data directory");
  fs::create_directories(dir, ec);
  if (ec) return invalid_argument("cannot create " + dir + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (simulation) {
    std::ofstream sim(fs::path(dir) / kSimulationMarker);
    sim << "A simulation: generated people, shared test keys, a CA named O=JPKI-TEST\n";
    if (!sim.flush()) return internal_error("cannot write the simulation marker in " + dir);
  }
  if (!store.empty()) {
    std::ofstream out(fs::path(dir) / kStoreFile);
    out << store << "\n";
    if (!out.flush()) return internal_error("cannot record the store in " + dir);
    fs::permissions(fs::path(dir) / kStoreFile, fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::replace, ec);  // a URI may carry a password
  }
  std::ofstream marker(fs::path(dir) / kMarker);
  marker << kMarkerText;
  if (!marker.flush()) return internal_error("cannot write the marker in " + dir);
  return Status::ok();
}

Status check_data_dir(const std::string& dir) {
  std::error_code ec;
  if (dir.empty()) return invalid_argument("--data DIR is required");
  if (!fs::exists(fs::path(dir) / kMarker, ec) ||
      (!fs::exists(database_path(dir), ec) && !fs::exists(fs::path(dir) / kStoreFile, ec)))
    return invalid_argument(dir + " is not an OpenJLIS data directory (create one with: jlis init --data " + dir + ")");
  return Status::ok();
}

}  // namespace jlis::store
