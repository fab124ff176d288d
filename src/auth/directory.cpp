#include "auth/directory.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <sstream>

#include "common/digest.h"
#include "store/migrations.h"

namespace jlis::auth {
namespace {

constexpr std::string_view kRoles[] = {"municipality", "agency", "card-centre",
                                       "call-centre", "verifier", "operator"};


bool valid_purpose(const std::string& p) {
  if (p.empty() || p.size() > 64) return false;
  for (char c : p)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& p : s) out += (out.empty() ? "" : ",") + p;
  return out;
}

std::set<std::string> split(const std::string& s) {
  std::set<std::string> out;
  std::stringstream in(s);
  for (std::string p; std::getline(in, p, ',');)
    if (!p.empty()) out.insert(p);
  return out;
}

}  // namespace

std::string_view role_name(Role role) { return kRoles[static_cast<int>(role)]; }

Result<Role> parse_role(std::string_view name) {
  for (size_t i = 0; i < std::size(kRoles); ++i)
    if (kRoles[i] == name) return static_cast<Role>(i);
  return invalid_argument("unknown role '" + std::string(name) +
                          "' (municipality, agency, card-centre, call-centre, verifier, operator)");
}

Status Directory::migrate(store::Connection& conn) {
  return store::migrate(conn, "auth", {{1, R"(
    CREATE TABLE agencies (
      agency_id TEXT PRIMARY KEY, name TEXT NOT NULL, purposes TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE tokens (
      token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, subject TEXT NOT NULL, name TEXT NOT NULL,
      created_at TEXT NOT NULL);
  )"}});
}

Result<std::pair<Agency, std::string>> Directory::add_agency(const std::string& name,
                                                             const std::vector<std::string>& purposes) {
  if (name.empty()) return invalid_argument("an agency needs a name");
  Agency agency;
  agency.name = name;
  for (const auto& p : purposes) {
    if (!valid_purpose(p))
      return invalid_argument("purpose '" + p + "' is not 1-64 characters of a-z 0-9 _ . -");
    agency.purposes.insert(p);
  }
  if (agency.purposes.empty()) return invalid_argument("an agency needs at least one purpose");
  JLIS_ASSIGN_OR_RETURN(std::string id, random_hex(8));
  agency.agency_id = "ag-" + id;
  JLIS_RETURN_IF_ERROR(writer_.run([&](store::Connection& c) {
    return c.execute("INSERT INTO agencies VALUES (?, ?, ?, CURRENT_TIMESTAMP)",
                     {agency.agency_id, agency.name, join(agency.purposes)}).status();
  }));
  JLIS_ASSIGN_OR_RETURN(std::string token, create_token(Role::agency, agency.agency_id, name));
  return std::make_pair(agency, token);
}

Result<std::vector<Agency>> Directory::agencies() {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<Agency> out;
  JLIS_RETURN_IF_ERROR(conn->query("SELECT agency_id, name, purposes FROM agencies ORDER BY name", {},
                                   [&](const store::Row& r) {
                                     out.push_back({r.text(0), r.text(1), split(r.text(2))});
                                     return true;
                                   }));
  return out;
}

Result<std::string> Directory::create_token(Role role, const std::string& subject, const std::string& name) {
  JLIS_ASSIGN_OR_RETURN(std::string secret, random_hex(32));
  std::string token = "jlis_" + secret;
  JLIS_RETURN_IF_ERROR(writer_.run([&](store::Connection& c) {
    return c.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)",
                     {sha256_hex(token), std::string(role_name(role)), subject, name}).status();
  }));
  return token;
}

Result<Principal> Directory::authenticate(const std::string& token) {
  if (token.empty()) return unauthenticated("a bearer token is required");
  const std::string hash = sha256_hex(token);
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::optional<Principal> found;
  std::string stored_hash, role;
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT t.token_hash, t.role, t.subject, t.name, a.purposes FROM tokens t "
      "LEFT JOIN agencies a ON t.role = 'agency' AND a.agency_id = t.subject WHERE t.token_hash = ?",
      {hash}, [&](const store::Row& r) {
        stored_hash = r.text(0);
        role = r.text(1);
        found = Principal{Role::operator_, r.text(2), r.text(3), split(r.text(4))};
        return false;
      }));
  // The lookup is by hash; the final comparison is constant-time all the same.
  if (!found || stored_hash.size() != hash.size() ||
      CRYPTO_memcmp(stored_hash.data(), hash.data(), hash.size()) != 0)
    return unauthenticated("unknown token");
  JLIS_ASSIGN_OR_RETURN(found->role, parse_role(role));
  return *found;
}

}  // namespace jlis::auth
