// The registered bodies of the information-linkage platform (issue 11 §1, 情報照会者・情報提供者):
// who may ask and provide. A body is its kind (body_kind.h), its name and its identifying code: the
// local-government code of a municipality or prefecture, the insurer number (保険者番号, 8 digits)
// of a health insurer, the corporate number (法人番号, 13 digits, check digit checked) of the
// pension service or a ministry. Its id is "<kind>-<code>" ("municipality-131016"), the id its
// linkage codes (codes.h) and its tokens are bound to; one body per kind and code.
//
// A body authenticates with a token of role linkage-body whose subject is its id (auth/directory.h):
// add() registers the body and makes its first token in one transaction (both or neither). remove()
// deactivates it and revokes its tokens in one transaction; the row stays, since the records of what
// it asked and provided name it. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/directory.h"
#include "common/status.h"
#include "linkage/body_kind.h"
#include "store/database.h"

namespace jlis::linkage {

struct Body {
  std::string body_id;  // "<kind>-<code>"
  BodyKind kind;
  std::string name;
  std::string code;           // local-government code, insurer number or corporate number
  std::string registered_at;  // ISO 8601 UTC
  bool active = true;
};

// invalid_argument, saying which form `kind` needs, when `code` is not a code of that kind's (a
// prefecture's code for a municipality and the reverse included).
Status check_body_code(BodyKind kind, const std::string& code);

class Bodies {
 public:
  static Status migrate(store::Connection& conn);

  // Not owned; both must outlive this. Writes go through the directory's writer.
  Bodies(store::Pool& pool, auth::Directory& directory) : pool_(pool), directory_(directory) {}

  // Registers a body and makes its first linkage-body token, made with `grant`; answers the body
  // and the token (the only time it is visible). invalid_argument for a bad code or a name empty or
  // over 200 bytes; conflict when the body is registered already (also a removed one), checked in
  // the transaction that writes.
  Result<std::pair<Body, std::string>> add(BodyKind kind, const std::string& name, const std::string& code,
                                           const auth::TokenGrant& grant = {});
  // Every body, active or not, oldest first.
  Result<std::vector<Body>> list();
  // not_found for an unknown id.
  Result<Body> get(const std::string& body_id);
  // The body `body_id` if registered and active, read on `conn` (the caller's transaction, so the
  // check holds for what it writes): not_found for an unknown id, permission_denied for a removed body.
  static Result<Body> active(store::Connection& conn, const std::string& body_id);
  // Deactivates a body and revokes its tokens (recorded with `by`). not_found for an unknown id;
  // conflict when removed already; both checked in the transaction that writes.
  Status remove(const std::string& body_id, const std::string& by);

 private:
  store::Pool& pool_;
  auth::Directory& directory_;
};

}  // namespace jlis::linkage
