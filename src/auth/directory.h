// Who may call: bearer tokens, their roles, and the agencies with their granted purposes.
//
// Tokens are 256-bit random values shown once, when created; only their SHA-256 is stored, and the
// stored hash is compared in constant time. A token never reaches a log or an error message.
// Every token expires (one year by default) and can be revoked. Every change to a token or a grant
// is recorded in auth_changes with who made it (TokenGrant::by) and, in the same transaction, counts
// up auth_version. authenticate keeps the tokens it has seen in memory, valid for one auth_version
// only: each call reads that one-row counter (in the caller's transaction when given one), so a
// revocation, an expiry or a change of an agency's purposes made by any process (the CLI beside a
// running server, another centre's server) applies to the very next request.
// Thread-safe: every call takes a connection from the pool; writes go through the Writer.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <string>
#include <vector>

#include "common/identifiers.h"
#include "common/status.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::auth {

enum class Role {
  municipality,  // 市町村: submits events for, and reads, its own residents
  agency,        // 国の機関等: reads identity information for its granted purposes
  card_centre,   // カード管理: card production
  call_centre,   // コールセンター: card suspension, loss reports
  verifier,      // 署名検証者: revocation information, basic four with consent
  operator_,     // operator tools
  issuance_centre,  // 証明書交付センター: asks municipalities' issuance servers for a card holder's documents
  lgpki_registration,  // LGPKI 登録分局: a local government's registration sub-authority (subject: its
                       // code); reviews its government's certificate applications, asks for revocations
  linkage_body,  // 情報照会者・情報提供者: a body of the information-linkage platform (subject: its body id,
                 // linkage/bodies.h); made by `jlis linkage body add` only
};
std::string_view role_name(Role role);
Result<Role> parse_role(std::string_view name);
// The roles a token is made for directly (`jlis token create`, the console): all but municipality
// (`jlis municipality token`: its code is checked against the reference data), agency (`jlis
// agency add`: with its purposes) and linkage-body (`jlis linkage body add`: with its registered
// body). invalid_argument, saying so, for those three.
Status check_plain_token_role(Role role);

// The authenticated caller.
struct Principal {
  Role role;
  std::string subject;  // municipality code, agency id, or another role's id
  std::string name;     // agency or verifier name; municipality code otherwise
  std::set<std::string> purposes;  // agencies: the purposes granted

  bool is_municipality(const LocalGovernmentCode& code) const {
    return role == Role::municipality && subject == code.str();
  }
};

// How a token is made: when it expires, and who makes it (recorded in auth_changes).
struct TokenGrant {
  std::optional<int64_t> expires_at;  // Unix seconds; default: one year (kDefaultTokenLifetime) from now
  std::string by = "operator:unknown";  // who: "operator:<name>" for the CLI
  // The acting operator's own token, when the change comes through one (the console): inside the
  // transaction that writes, it must still be a good operator token, or the change is refused
  // (permission_denied) and nothing is written. Empty for the CLI (the data directory's owner).
  std::string operator_token = {};
};
constexpr int64_t kDefaultTokenLifetime = 365 * 86400;

// Parses an expiry as the CLI takes it: a duration "90d", "1y" (365 days), "12h", "30m", "45s",
// "2w", or an ISO date "2027-03-31" (valid through that day, UTC: expires at the next midnight).
// Answers Unix seconds; invalid_argument for anything else or a time not after `now`, or beyond
// ten years.
Result<int64_t> parse_expiry(std::string_view text, int64_t now);

// A token as `jlis token list` shows it: never its secret nor its hash.
struct TokenInfo {
  std::string token_id;  // "tk-" and 16 hex digits: the public name of the token
  Role role;
  std::string subject, name;
  std::string created_at;               // ISO 8601 UTC
  int64_t expires_at = 0;               // Unix seconds
  std::optional<std::string> revoked_at;  // ISO 8601 UTC
};

// One recorded change to a token or a grant.
struct Change {
  int64_t seq;
  std::string at, by, action, target, detail;  // action: token.create, token.revoke, agency.add, agency.purposes
};

// How `set_purposes` changes an agency's purposes.
enum class PurposeChange { set, add, remove };

struct Agency {
  std::string agency_id;
  std::string name;
  std::set<std::string> purposes;
};

class Directory {
 public:
  static Status migrate(store::Connection& conn);
  Directory(store::Pool& pool, store::Writer& writer) : pool_(pool), writer_(writer) {}

  // Registers an agency with its purposes (non-empty, each [a-z0-9_.-]{1,64}) and creates its
  // first token. Answers the agency and the token (the only time the token is visible).
  Result<std::pair<Agency, std::string>> add_agency(const std::string& name,
                                                     const std::vector<std::string>& purposes,
                                                     const TokenGrant& grant = {});
  Result<std::vector<Agency>> agencies();

  // Sets, adds or removes purposes of an agency (each [a-z0-9_.-]{1,64}). Removing the last one
  // withdraws the agency's access: its token then reads nothing. not_found for an unknown agency;
  // the change and the before/after are recorded with `by`, in the transaction that writes.
  Result<Agency> set_purposes(const std::string& agency_id, PurposeChange change,
                              const std::vector<std::string>& purposes, const std::string& by);

  // Creates a new token for `role` and `subject` (a municipality code for municipalities; a
  // local-government code for lgpki-registration; a body id, [a-z0-9-]{1,64}, for linkage-body;
  // invalid_argument otherwise).
  // invalid_argument when grant.expires_at is not in the future. `also` (optional) writes what the
  // token belongs to (a verifier's row) in the same transaction: the token exists only if it does.
  Result<std::string> create_token(Role role, const std::string& subject, const std::string& name,
                                   const TokenGrant& grant = {},
                                   const std::function<Status(store::Connection&)>& also = {});

  // Every token, oldest first, without secrets.
  Result<std::vector<TokenInfo>> tokens();
  // Revokes a token by its id: not_found when unknown, conflict when already revoked (both
  // checked in the transaction that writes). Recorded with `by`; `operator_token` as TokenGrant's.
  Status revoke_token(const std::string& token_id, const std::string& by, const std::string& operator_token = "");
  // Records an operator's action that is not a change to a token or a grant (the console's "generate
  // the CRLs now"), checking `operator_token` (as TokenGrant's) in the transaction that records it;
  // the caller acts only when this succeeds.
  Status record_action(const std::string& by, const std::string& operator_token, const std::string& action,
                       const std::string& target, const std::string& detail);
  // Revokes every token of `role` and `subject` not yet revoked (none is fine), recorded with `by`;
  // `also` (optional) writes in the same transaction (a body's removal): both or neither.
  Status revoke_tokens_of(Role role, const std::string& subject, const std::string& by,
                          const std::function<Status(store::Connection&)>& also = {});
  // The recorded changes, oldest first.
  Result<std::vector<Change>> changes();

  // The caller of a bearer token: unauthenticated when empty, unknown, revoked or expired.
  Result<Principal> authenticate(const std::string& token);
  // The same, read on `conn` (the caller's read transaction).
  Result<Principal> authenticate(store::Connection& conn, const std::string& token);

 private:
  struct CachedToken {
    Principal principal;
    int64_t expires_at = 0;
    bool revoked = false;
  };
  // permission_denied unless `operator_token` is empty or a good operator token, read on `conn`.
  Status check_operator(store::Connection& conn, const std::string& operator_token);

  static constexpr size_t kCacheCapacity = 100000;  // tokens; past it the cache starts over

  store::Pool& pool_;
  store::Writer& writer_;
  std::shared_mutex cache_mu_;
  int64_t cache_version_ = -1;  // the auth_version the cached tokens were read at
  std::unordered_map<std::string, CachedToken> cache_;  // by token hash
};

}  // namespace jlis::auth
