#include "store/data_dir.h"

#include <filesystem>
#include <fstream>

namespace jlis::store {
namespace {

namespace fs = std::filesystem;
constexpr const char* kMarker = "openjlis-data";
constexpr const char* kMarkerText = "OpenJLIS data directory, format 1\n";
constexpr const char* kSimulationMarker = "simulation";

}  // namespace

std::string database_path(const std::string& dir) { return (fs::path(dir) / "jlis.db").string(); }

Result<std::unique_ptr<Database>> open_data_dir_database(const std::string& dir, bool create) {
  return open_sqlite(database_path(dir), {.create = create, .attach = {{"audit", (fs::path(dir) / "audit.db").string()}}});
}

bool is_simulation(const std::string& dir) {
  std::error_code ec;
  return fs::exists(fs::path(dir) / kSimulationMarker, ec);
}

Status init_data_dir(const std::string& dir, bool simulation) {
  std::error_code ec;
  if (fs::exists(fs::path(dir) / kMarker, ec)) {
    if (simulation != is_simulation(dir))
      return invalid_argument(dir + (simulation ? " exists and is not a simulation" : " exists and is a simulation (init --simulation)"));
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
  std::ofstream marker(fs::path(dir) / kMarker);
  marker << kMarkerText;
  if (!marker.flush()) return internal_error("cannot write the marker in " + dir);
  return Status::ok();
}

Status check_data_dir(const std::string& dir) {
  std::error_code ec;
  if (dir.empty()) return invalid_argument("--data DIR is required");
  if (!fs::exists(fs::path(dir) / kMarker, ec) || !fs::exists(database_path(dir), ec))
    return invalid_argument(dir + " is not an OpenJLIS data directory (create one with: jlis init --data " + dir + ")");
  return Status::ok();
}

}  // namespace jlis::store
