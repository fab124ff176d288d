// Who may call: bearer tokens, their roles, and the agencies with their granted purposes.
//
// Tokens are 256-bit random values shown once, when created; only their SHA-256 is stored, and the
// stored hash is compared in constant time. A token never reaches a log or an error message.
// Thread-safe: every call takes a connection from the pool; writes go through the Writer.
#pragma once

#include <memory>
#include <optional>
#include <set>
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
};
std::string_view role_name(Role role);
Result<Role> parse_role(std::string_view name);

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
                                                     const std::vector<std::string>& purposes);
  Result<std::vector<Agency>> agencies();

  // Creates a new token for `role` and `subject` (a municipality code for municipalities).
  Result<std::string> create_token(Role role, const std::string& subject, const std::string& name);

  // The caller of a bearer token: unauthenticated when empty or unknown.
  Result<Principal> authenticate(const std::string& token);

 private:
  store::Pool& pool_;
  store::Writer& writer_;
};

}  // namespace jlis::auth
