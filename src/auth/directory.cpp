#include "auth/directory.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <ctime>

#include "common/clock.h"
#include "common/digest.h"
#include "common/text.h"
#include "store/migrations.h"

namespace jlis::auth {
namespace {

constexpr std::string_view kRoles[] = {"municipality", "agency", "card-centre",
                                       "call-centre", "verifier", "operator", "issuance-centre",
                                       "lgpki-registration", "linkage-body"};


bool valid_purpose(const std::string& p) {
  if (p.empty() || p.size() > 64) return false;
  for (char c : p)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

bool valid_body_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

// Purposes and scopes as stored: comma-separated.
std::string join_commas(const std::set<std::string>& s) { return join(s, ","); }
std::set<std::string> split_commas(const std::string& s) {
  std::vector<std::string> pieces = split_nonempty(s, ',');
  return {pieces.begin(), pieces.end()};
}

int64_t now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

Status check_purposes(const std::vector<std::string>& purposes) {
  for (const auto& p : purposes)
    if (!valid_purpose(p)) return invalid_argument("purpose '" + p + "' is not 1-64 characters of a-z 0-9 _ . -");
  return Status::ok();
}

// Records a change to a token or a grant, on the connection of the transaction that makes it.
Status record_change(store::Connection& c, const std::string& at, const std::string& by, const std::string& action,
                     const std::string& target, const std::string& detail) {
  JLIS_RETURN_IF_ERROR(c.execute("UPDATE auth_version SET version = version + 1").status());
  return c.execute("INSERT INTO auth_changes (at, by_whom, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                   {at, by, action, target, detail}).status();
}

}  // namespace

Result<int64_t> parse_expiry(std::string_view text, int64_t now) {
  const std::string t(text);
  const auto bad = [&](const std::string& why) {
    return invalid_argument("--expires '" + t + "' " + why +
                            " (a duration such as 90d, 1y, 12h, 2w, or a date YYYY-MM-DD)");
  };
  int64_t at = 0;
  if (t.size() == 10 && t[4] == '-' && t[7] == '-') {
    struct tm tm {};
    const char* end = strptime(t.c_str(), "%Y-%m-%d", &tm);
    if (!end || *end != '\0') return bad("is not a date");
    at = static_cast<int64_t>(timegm(&tm)) + 86400;  // valid through that day
  } else {
    if (t.size() < 2 || t.size() > 8 || t.find_first_not_of("0123456789", 0) != t.size() - 1)
      return bad("is not a duration");
    const int64_t n = std::stoll(t.substr(0, t.size() - 1));
    int64_t unit = 0;
    switch (t.back()) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      case 'y': unit = 365 * 86400; break;
      default: return bad("has an unknown unit");
    }
    at = now + n * unit;
  }
  if (at <= now) return bad("is not in the future");
  if (at - now > 10 * kDefaultTokenLifetime) return bad("is more than ten years away");
  return at;
}

std::string_view role_name(Role role) { return kRoles[static_cast<int>(role)]; }

Status check_plain_token_role(Role role) {
  if (role == Role::municipality || role == Role::agency || role == Role::linkage_body)
    return invalid_argument("use 'jlis municipality token', 'jlis agency add' or 'jlis linkage body add' for that role");
  return Status::ok();
}

Result<Role> parse_role(std::string_view name) {
  for (size_t i = 0; i < std::size(kRoles); ++i)
    if (kRoles[i] == name) return static_cast<Role>(i);
  return invalid_argument("unknown role '" + std::string(name) +
                          "' (municipality, agency, card-centre, call-centre, verifier, operator, issuance-centre, lgpki-registration, linkage-body)");
}

Status Directory::migrate(store::Connection& conn) {
  return store::migrate(conn, "auth", {{1, R"(
    CREATE TABLE agencies (
      agency_id TEXT PRIMARY KEY, name TEXT NOT NULL, purposes TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE tokens (
      token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, subject TEXT NOT NULL, name TEXT NOT NULL,
      created_at TEXT NOT NULL);
  )"}, {2, R"(
    ALTER TABLE tokens ADD COLUMN token_id TEXT;
    ALTER TABLE tokens ADD COLUMN expires_at BIGINT;
    ALTER TABLE tokens ADD COLUMN revoked_at TEXT;
    UPDATE tokens SET token_id = 'tk-' || {{random_hex16}},
                      expires_at = {{unix_seconds:created_at}} + 31536000,
                      created_at = {{iso_utc:created_at}};
    CREATE UNIQUE INDEX tokens_id ON tokens (token_id);
    CREATE TABLE auth_changes (
      seq {{id}}, at TEXT NOT NULL, by_whom TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
      detail TEXT NOT NULL);
  )"}, {3, R"(
    CREATE TABLE auth_version (version BIGINT NOT NULL);
    INSERT INTO auth_version (version) VALUES (0);
  )"}});
}

Result<std::pair<Agency, std::string>> Directory::add_agency(const std::string& name,
                                                             const std::vector<std::string>& purposes,
                                                             const TokenGrant& grant) {
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
  const std::string at = iso8601_seconds(now_seconds());
  JLIS_ASSIGN_OR_RETURN(std::string token, create_token(Role::agency, agency.agency_id, name, grant, [&](store::Connection& c) {
    JLIS_RETURN_IF_ERROR(c.execute("INSERT INTO agencies VALUES (?, ?, ?, ?)",
                                   {agency.agency_id, agency.name, join_commas(agency.purposes), at}).status());
    return record_change(c, at, grant.by, "agency.add", agency.agency_id, join_commas(agency.purposes));
  }));
  return std::make_pair(agency, token);
}

Result<std::vector<Agency>> Directory::agencies() {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<Agency> out;
  JLIS_RETURN_IF_ERROR(conn->query("SELECT agency_id, name, purposes FROM agencies ORDER BY name", {},
                                   [&](const store::Row& r) {
                                     out.push_back({r.text(0), r.text(1), split_commas(r.text(2))});
                                     return true;
                                   }));
  return out;
}

Result<Agency> Directory::set_purposes(const std::string& agency_id, PurposeChange change,
                                       const std::vector<std::string>& purposes, const std::string& by) {
  JLIS_RETURN_IF_ERROR(check_purposes(purposes));
  if (change != PurposeChange::set && purposes.empty()) return invalid_argument("name at least one purpose");
  Agency agency;
  const std::string at = iso8601_seconds(now_seconds());
  JLIS_RETURN_IF_ERROR(writer_.run([&](store::Connection& c) {
    // Read, change and write in one transaction: a concurrent change cannot be lost.
    bool found = false;
    JLIS_RETURN_IF_ERROR(c.query("SELECT agency_id, name, purposes FROM agencies WHERE agency_id = ?", {agency_id},
                                 [&](const store::Row& r) {
                                   agency = {r.text(0), r.text(1), split_commas(r.text(2))};
                                   found = true;
                                   return false;
                                 }));
    if (!found) return not_found("no agency " + agency_id);
    const std::string before = join_commas(agency.purposes);
    if (change == PurposeChange::set) agency.purposes.clear();
    for (const auto& p : purposes) {
      if (change == PurposeChange::remove) agency.purposes.erase(p);
      else agency.purposes.insert(p);
    }
    JLIS_RETURN_IF_ERROR(
        c.execute("UPDATE agencies SET purposes = ? WHERE agency_id = ?", {join_commas(agency.purposes), agency_id}).status());
    return record_change(c, at, by, "agency.purposes", agency_id, before + " -> " + join_commas(agency.purposes));
  }));
  return agency;
}

Result<std::string> Directory::create_token(Role role, const std::string& subject, const std::string& name,
                                            const TokenGrant& grant,
                                            const std::function<Status(store::Connection&)>& also) {
  const int64_t now = now_seconds();
  const int64_t expires_at = grant.expires_at.value_or(now + kDefaultTokenLifetime);
  if (expires_at <= now) return invalid_argument("the token's expiry is not in the future");
  if (role == Role::lgpki_registration && !LocalGovernmentCode::parse(subject).ok())
    return invalid_argument("an lgpki-registration token is its local government's: --name is its 6-digit code");
  if (role == Role::linkage_body && !valid_body_id(subject))
    return invalid_argument("a linkage-body token is its body's: the subject is a body id, 1 to 64 of [a-z0-9-]");
  JLIS_ASSIGN_OR_RETURN(std::string secret, random_hex(32));
  JLIS_ASSIGN_OR_RETURN(std::string id, random_hex(8));
  const std::string token = "jlis_" + secret, token_id = "tk-" + id, at = iso8601_seconds(now);
  JLIS_RETURN_IF_ERROR(writer_.run([&](store::Connection& c) {
    JLIS_RETURN_IF_ERROR(check_operator(c, grant.operator_token));
    if (also) JLIS_RETURN_IF_ERROR(also(c));
    JLIS_RETURN_IF_ERROR(c.execute("INSERT INTO tokens (token_hash, role, subject, name, created_at, token_id, "
                                   "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   {sha256_hex(token), std::string(role_name(role)), subject, name, at, token_id,
                                    expires_at}).status());
    return record_change(c, at, grant.by, "token.create", token_id,
                         std::string(role_name(role)) + " " + subject + " expires " + iso8601_seconds(expires_at));
  }));
  return token;
}

Result<std::vector<TokenInfo>> Directory::tokens() {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<TokenInfo> out;
  Status bad = Status::ok();
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT token_id, role, subject, name, created_at, expires_at, revoked_at FROM tokens ORDER BY created_at, token_id",
      {}, [&](const store::Row& r) {
        auto role = parse_role(r.text(1));
        if (!role.ok()) {
          bad = role.status();
          return false;
        }
        out.push_back({r.text(0), *role, r.text(2), r.text(3), r.text(4), r.int64(5), r.optional_text(6)});
        return true;
      }));
  JLIS_RETURN_IF_ERROR(bad);
  return out;
}

Status Directory::revoke_token(const std::string& token_id, const std::string& by, const std::string& operator_token) {
  const std::string at = iso8601_seconds(now_seconds());
  return writer_.run([&](store::Connection& c) {
    JLIS_RETURN_IF_ERROR(check_operator(c, operator_token));
    std::optional<std::optional<std::string>> revoked;  // outer: found
    JLIS_RETURN_IF_ERROR(c.query("SELECT revoked_at FROM tokens WHERE token_id = ?", {token_id},
                                 [&](const store::Row& r) {
                                   revoked = r.optional_text(0);
                                   return false;
                                 }));
    if (!revoked) return not_found("no token " + token_id + " (jlis token list)");
    if (*revoked) return conflict("token " + token_id + " was already revoked at " + **revoked);
    JLIS_RETURN_IF_ERROR(c.execute("UPDATE tokens SET revoked_at = ? WHERE token_id = ?", {at, token_id}).status());
    return record_change(c, at, by, "token.revoke", token_id, "");
  });
}

Status Directory::revoke_tokens_of(Role role, const std::string& subject, const std::string& by,
                                   const std::function<Status(store::Connection&)>& also) {
  const std::string at = iso8601_seconds(now_seconds());
  return writer_.run([&](store::Connection& c) {
    if (also) JLIS_RETURN_IF_ERROR(also(c));
    std::vector<std::string> ids;
    JLIS_RETURN_IF_ERROR(c.query("SELECT token_id FROM tokens WHERE role = ? AND subject = ? AND revoked_at IS NULL",
                                 {std::string(role_name(role)), subject}, [&](const store::Row& r) {
                                   ids.push_back(r.text(0));
                                   return true;
                                 }));
    for (const auto& id : ids) {
      JLIS_RETURN_IF_ERROR(c.execute("UPDATE tokens SET revoked_at = ? WHERE token_id = ?", {at, id}).status());
      JLIS_RETURN_IF_ERROR(record_change(c, at, by, "token.revoke", id, std::string(role_name(role)) + " " + subject));
    }
    return Status::ok();
  });
}

Status Directory::record_action(const std::string& by, const std::string& operator_token, const std::string& action,
                                const std::string& target, const std::string& detail) {
  const std::string at = iso8601_seconds(now_seconds());
  return writer_.run([&](store::Connection& c) {
    JLIS_RETURN_IF_ERROR(check_operator(c, operator_token));
    // Not a change of who may call: auth_version (the token cache's) stays.
    return c.execute("INSERT INTO auth_changes (at, by_whom, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                     {at, by, action, target, detail}).status();
  });
}

Status Directory::check_operator(store::Connection& conn, const std::string& operator_token) {
  if (operator_token.empty()) return Status::ok();
  auto principal = authenticate(conn, operator_token);
  if (!principal.ok() || principal->role != Role::operator_)
    return permission_denied("the operator's token is no longer good: log in again");
  return Status::ok();
}

Result<std::vector<Change>> Directory::changes() {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<Change> out;
  JLIS_RETURN_IF_ERROR(conn->query("SELECT seq, at, by_whom, action, target, detail FROM auth_changes ORDER BY seq", {},
                                   [&](const store::Row& r) {
                                     out.push_back({r.int64(0), r.text(1), r.text(2), r.text(3), r.text(4), r.text(5)});
                                     return true;
                                   }));
  return out;
}

Result<Principal> Directory::authenticate(const std::string& token) {
  if (token.empty()) return unauthenticated("a bearer token is required");
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  return authenticate(*conn, token);
}

Result<Principal> Directory::authenticate(store::Connection& conn, const std::string& token) {
  if (token.empty()) return unauthenticated("a bearer token is required");
  const std::string hash = sha256_hex(token);
  int64_t version = -1;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT version FROM auth_version", {}, [&](const store::Row& r) {
    version = r.int64(0);
    return false;
  }));
  std::optional<CachedToken> cached;
  {
    std::shared_lock lock(cache_mu_);
    if (version == cache_version_)
      if (auto it = cache_.find(hash); it != cache_.end()) cached = it->second;
  }
  if (!cached) {
    std::string stored_hash, role;
    CachedToken found;
    bool exists = false;
    JLIS_RETURN_IF_ERROR(conn.query(
        "SELECT t.token_hash, t.role, t.subject, t.name, a.purposes, t.expires_at, t.revoked_at FROM tokens t "
        "LEFT JOIN agencies a ON t.role = 'agency' AND a.agency_id = t.subject WHERE t.token_hash = ?",
        {hash}, [&](const store::Row& r) {
          stored_hash = r.text(0);
          role = r.text(1);
          found.principal = Principal{Role::operator_, r.text(2), r.text(3), split_commas(r.text(4))};
          found.expires_at = r.int64(5);
          found.revoked = !r.is_null(6);
          exists = true;
          return false;
        }));
    // The lookup is by hash; the final comparison is constant-time all the same.
    if (!exists || stored_hash.size() != hash.size() ||
        CRYPTO_memcmp(stored_hash.data(), hash.data(), hash.size()) != 0)
      return unauthenticated("unknown token");
    JLIS_ASSIGN_OR_RETURN(found.principal.role, parse_role(role));
    cached = found;
    std::unique_lock lock(cache_mu_);
    if (version != cache_version_) {
      cache_.clear();
      cache_version_ = version;
    }
    if (cache_.size() >= kCacheCapacity) cache_.clear();
    cache_.emplace(hash, std::move(found));
  }
  if (cached->revoked) return unauthenticated("the token was revoked");
  if (now_seconds() >= cached->expires_at) return unauthenticated("the token expired");
  return std::move(cached->principal);
}

}  // namespace jlis::auth
