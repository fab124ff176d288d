#include "store/centre.h"

#include <libpq-fe.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "store/data_dir.h"
#include "store/libpq_handles.h"

namespace jlis::store {
namespace {

namespace fs = std::filesystem;
constexpr const char* kCentreFile = "centre";  // name=…\nread_store=…\n

using internal::ConninfoPtr;
using internal::ConnPtr;
using internal::ResultPtr;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// Runs `sql` (no parameters) and answers the first row's columns, or the error.
Result<std::vector<std::string>> first_row(PGconn* conn, const char* sql) {
  ResultPtr r(PQexec(conn, sql));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return unavailable(PQerrorMessage(conn));
  std::vector<std::string> row;
  if (PQntuples(r.get()) == 0) return row;
  for (int c = 0; c < PQnfields(r.get()); ++c) row.emplace_back(PQgetvalue(r.get(), 0, c));
  return row;
}

void ask(NodeStatus& node, PGconn* conn) {
  auto recovery = first_row(conn, "SELECT pg_is_in_recovery()");
  if (!recovery.ok() || recovery->empty()) {
    node.error = recovery.ok() ? "no answer" : recovery.status().message();
    return;
  }
  node.reachable = true;
  if ((*recovery)[0] == "t") {
    node.role = "standby";
    auto r = first_row(conn,
                       "SELECT pg_last_wal_replay_lsn(), "
                       "coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint, "
                       "coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), -1)");
    if (r.ok() && r->size() == 3) {
      node.lsn = (*r)[0];
      node.replay_gap_bytes = std::stoll((*r)[1]);
      node.replay_age_seconds = std::stod((*r)[2]);
    }
    return;
  }
  node.role = "primary";
  if (auto r = first_row(conn, "SELECT pg_current_wal_lsn()"); r.ok() && !r->empty()) node.lsn = (*r)[0];
  ResultPtr r(PQexec(conn,
                     "SELECT application_name, coalesce(host(client_addr), 'local'), state, sync_state, "
                     "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint, "
                     "coalesce(replay_lag::text, '') FROM pg_stat_replication ORDER BY application_name"));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return;
  for (int i = 0; i < PQntuples(r.get()); ++i)
    node.replicas.push_back({PQgetvalue(r.get(), i, 0), PQgetvalue(r.get(), i, 1), PQgetvalue(r.get(), i, 2),
                             PQgetvalue(r.get(), i, 3), std::stoll(PQgetvalue(r.get(), i, 4)),
                             PQgetvalue(r.get(), i, 5)});
}

}  // namespace

Status record_centre(const std::string& dir, const CentreConfig& centre) {
  JLIS_RETURN_IF_ERROR(check_data_dir(dir));
  if (data_dir_store(dir).empty())
    return invalid_argument("a centre needs a PostgreSQL store (jlis init --store postgresql://…)");
  static const std::regex name("[a-z0-9-]{1,32}");
  if (!std::regex_match(centre.name, name))
    return invalid_argument("--centre must be 1 to 32 of a-z, 0-9 and '-' (e.g. east)");
  if (!centre.read_store.empty() && !is_postgresql_url(centre.read_store))
    return invalid_argument("--read-store must be a PostgreSQL URI (postgresql://user@host:port/database)");
  const fs::path path = fs::path(dir) / kCentreFile;
  const fs::path tmp = path.string() + ".new";
  {
    std::ofstream out(tmp);
    out << "name=" << centre.name << "\nread_store=" << centre.read_store << "\n";
    if (!out.flush()) return internal_error("cannot record the centre in " + dir);
  }
  std::error_code ec;
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, ec);
  fs::rename(tmp, path, ec);  // a URI may carry a password: 0600, and never half-written
  if (ec) return internal_error("cannot record the centre in " + dir + ": " + ec.message());
  return Status::ok();
}

CentreConfig data_dir_centre(const std::string& dir) {
  CentreConfig c;
  std::ifstream in(fs::path(dir) / kCentreFile);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("name=", 0) == 0) c.name = line.substr(5);
    if (line.rfind("read_store=", 0) == 0) c.read_store = line.substr(11);
  }
  return c;
}

Result<std::unique_ptr<Database>> open_data_dir_read_database(const std::string& dir) {
  const CentreConfig centre = data_dir_centre(dir);
  if (centre.read_store.empty()) return std::unique_ptr<Database>();
  // No schemas: the read store may be a standby, where nothing can be created.
  return open_postgresql(centre.read_store, {.prefer_first_host = true});
}

Result<std::string> store_role(Connection& conn) {
  if (conn.dialect() != "postgresql") return std::string("embedded");
  JLIS_ASSIGN_OR_RETURN(auto standby, conn.query_int64("SELECT pg_is_in_recovery()"));
  return std::string(standby.value_or(0) != 0 ? "standby" : "primary");
}

Result<std::vector<NodeStatus>> postgresql_nodes(const std::string& url) {
  char* error = nullptr;
  ConninfoPtr options(PQconninfoParse(url.c_str(), &error));
  if (!options) {
    std::string m = error ? error : "out of memory";
    PQfreemem(error);
    return invalid_argument("cannot parse the store's URI: " + m);
  }
  std::vector<std::string> keys, values;
  std::string hosts, ports;
  for (auto* o = options.get(); o->keyword; ++o) {
    if (!o->val) continue;
    const std::string k = o->keyword;
    if (k == "host") hosts = o->val;
    else if (k == "port") ports = o->val;
    else if (k != "hostaddr" && k != "target_session_attrs") keys.push_back(k), values.push_back(o->val);
  }
  const auto host_list = split(hosts.empty() ? "localhost" : hosts);
  const auto port_list = split(ports);
  std::vector<NodeStatus> nodes;
  for (size_t i = 0; i < host_list.size(); ++i) {
    NodeStatus node;
    node.host = host_list[i];
    node.port = port_list.size() == host_list.size() ? port_list[i] : (port_list.empty() ? "5432" : port_list[0]);
    std::vector<const char*> k, v;
    for (size_t j = 0; j < keys.size(); ++j) k.push_back(keys[j].c_str()), v.push_back(values[j].c_str());
    k.push_back("host"), v.push_back(node.host.c_str());
    k.push_back("port"), v.push_back(node.port.c_str());
    k.push_back("connect_timeout"), v.push_back("5");
    k.push_back(nullptr), v.push_back(nullptr);
    ConnPtr conn(PQconnectdbParams(k.data(), v.data(), 0));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      node.error = conn ? PQerrorMessage(conn.get()) : "out of memory";
      while (!node.error.empty() && (node.error.back() == '\n' || node.error.back() == ' ')) node.error.pop_back();
    } else {
      ask(node, conn.get());
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

Result<CentreReport> centre_report(const std::string& data, bool as_json) {
  JLIS_RETURN_IF_ERROR(check_data_dir(data));
  const std::string url = data_dir_store(data);
  if (url.empty()) return invalid_argument(data + " has the embedded SQLite store: there are no centres");
  const CentreConfig centre = data_dir_centre(data);
  JLIS_ASSIGN_OR_RETURN(const auto nodes, postgresql_nodes(url));
  // This centre's own node: the first host of its read store.
  std::string local;
  if (!centre.read_store.empty()) {
    auto mine = postgresql_nodes(centre.read_store);
    if (mine.ok() && !mine->empty()) local = mine->front().host + ":" + mine->front().port;
  }
  int primaries = 0;
  nlohmann::json out = {{"centre", centre.name}, {"nodes", nlohmann::json::array()}};
  std::ostringstream text;
  text << "centre " << (centre.name.empty() ? "(none recorded)" : centre.name) << "\n";
  for (const auto& n : nodes) {
    const std::string address = n.host + ":" + n.port;
    nlohmann::json j = {{"address", address}, {"local", address == local}, {"reachable", n.reachable}};
    text << "node " << address << (address == local ? " (this centre)" : "") << ": ";
    if (!n.reachable) {
      j["error"] = n.error;
      text << "UNREACHABLE (" << n.error << ")\n";
    } else {
      j["role"] = n.role;
      j["lsn"] = n.lsn;
      text << n.role << ", lsn " << n.lsn;
      if (n.role == "primary") {
        ++primaries;
        text << ", " << n.replicas.size() << " standby(s) streaming\n";
        j["replicas"] = nlohmann::json::array();
        for (const auto& r : n.replicas) {
          j["replicas"].push_back({{"name", r.name}, {"address", r.address}, {"state", r.state},
                                   {"sync_state", r.sync_state}, {"lag_bytes", r.lag_bytes}, {"replay_lag", r.replay_lag}});
          text << "  standby " << r.name << " from " << r.address << ": " << r.state << ", sync_state " << r.sync_state
               << ", lag " << r.lag_bytes << " bytes" << (r.replay_lag.empty() ? "" : ", replay_lag " + r.replay_lag) << "\n";
        }
      } else {
        j["replay_gap_bytes"] = n.replay_gap_bytes;
        j["replay_age_seconds"] = n.replay_age_seconds;
        text << ", replay " << n.replay_gap_bytes << " bytes behind what it received";
        if (n.replay_age_seconds >= 0) text << ", last transaction replayed " << n.replay_age_seconds << " s ago";
        text << "\n";
      }
    }
    out["nodes"].push_back(std::move(j));
  }
  out["primaries"] = primaries;
  text << (primaries == 1 ? "one primary: writes are accepted\n"
                          : primaries == 0 ? "NO PRIMARY: writes are refused until the failover completes\n"
                                           : "MORE THAN ONE PRIMARY: split brain, stop writes and see docs/OPERATIONS.md\n");
  return CentreReport{as_json ? out.dump() + "\n" : text.str(), primaries};
}

}  // namespace jlis::store
