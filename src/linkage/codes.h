// 符号 (linkage codes, issue 11 §1): how a body of the information-linkage platform knows a person.
// Each body gets its own code for each person; no two bodies share one, and no code says anything
// about the person without the platform's key.
//
// A person is anchored by a random 128-bit person id (linkage_persons), made the first time any body
// asks for the person and tied to the current resident code; when the resident code changes, the
// anchor moves with it (move_resident), so every body's code stays the same. A My Number reissue
// never touches it.
//
// The code of a person for a body is keyed and one-way: the hex of the first 16 bytes of
//   SHA-256( RSA-PKCS#1-v1.5-sign_key( SHA-256("jlis-linkage-code|" body "|" person id) ) )
// RSA PKCS#1 v1.5 signatures are deterministic, so this is a pseudo-random function of the key that
// a PKCS#11 token can compute without the key ever leaving it (keys.h; an encrypted key file
// otherwise). Without the key, one body's code tells nothing of another's. Each code is recorded
// (linkage_codes, unique), so converting one body's code to another's is two indexed reads, and a
// collision (2^-64 for a billion codes) is refused rather than merged.
//
// Every write's checks (the person still has this resident code, the code not yet recorded) run in
// the writer's transaction. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/identifiers.h"
#include "common/status.h"
#include "pki/keys.h"
#include "pki/openssl.h"
#include "registry/registry.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::linkage {

struct SignedMessage;  // signatures.h

// The agency the registry's provision log names for the resident codes given to the platform.
inline constexpr const char* kLinkagePlatformAgency = "linkage-platform";

// The KeyStore label of the platform's code key.
inline constexpr const char* kCodeKeyLabel = "linkage-code-key";

class LinkageCodes {
 public:
  static Status migrate(store::Connection& conn);

  // Not owned; all must outlive this. `key`: the platform's RSA key (kCodeKeyLabel).
  LinkageCodes(store::Pool& pool, store::Writer& writer, EVP_PKEY* key) : pool_(pool), writer_(writer), key_(key) {}
  // The key is `keys`' kCodeKeyLabel: `loaded` when the store has it, else (null) generated there
  // when the first code is made or key() is asked, once (one another process made meanwhile is
  // loaded instead), so that a platform that never makes a code never makes a key.
  LinkageCodes(store::Pool& pool, store::Writer& writer, pki::KeyStore& keys, pki::EvpPkeyPtr loaded)
      : pool_(pool), writer_(writer), keys_(&keys), owned_key_(std::move(loaded)), key_(owned_key_.get()) {}

  // The code key (generated now in the key store when it has none: see the constructor).
  Result<EVP_PKEY*> key();

  // The code of the person with `resident` for `body` (a registered, active body's id): read when
  // recorded, else made and recorded (the person anchored on first use). invalid_argument for a
  // bad body id; not_found for an unregistered body and permission_denied for a removed one
  // (bodies.h, checked in the transaction that writes); conflict on a code collision.
  Result<std::string> code_for(const std::string& body, const ResidentCode& resident);

  // The code for `body` of the person with My Number `number`: how a body first learns a person's
  // code (by the My Number it holds), through the platform. The registry's provision of the resident
  // code to the platform (住基ネット → 中間サーバー, issue 11 §1) is recorded in the registry's
  // provision log first (agency kLinkagePlatformAgency, purpose "linkage code for <body>",
  // `request_id` beside it), then the code is answered as code_for answers it: the resident code never
  // leaves the platform. permission_denied for a body whose kind holds no My Numbers (a ministry);
  // the registry's not_found (never issued) or conflict (changed after a leak) as they are.
  // `signed_by`: the request as the body signed it (signatures.h), its signer checked and the
  // message logged (kind "code-request") in a transaction of its own before anything else.
  Result<std::string> code_by_my_number(registry::Registry& registry, const std::string& body, const MyNumber& number,
                                        const std::string& request_id, const SignedMessage* signed_by = nullptr);

  // `code` of body `from` as body `to` knows the same person (made for `to` when it has none yet).
  // not_found when `from` has no such code. Internal to the platform: never answered to a body.
  Result<std::string> convert(const std::string& from, const std::string& code, const std::string& to);

  // The resident code of `code` of `body`, for the platform's own reads (replicas, records).
  Result<ResidentCode> resident_of(const std::string& body, const std::string& code);

  // The person anchor (linkage_persons) of `code` of `body`, read on `conn` (the caller's transaction);
  // nullopt when the body has no such code. Internal to the platform: never answered to a body.
  static Result<std::optional<std::string>> person_of(store::Connection& conn, const std::string& body,
                                                      const std::string& code);

  // The code `body` knows the person `person_id` by, read on `conn`; nullopt when it has none.
  // Internal to the platform: only ever sent to that body itself.
  static Result<std::optional<std::string>> code_of(store::Connection& conn, const std::string& body,
                                                    const std::string& person_id);

  // Moves the anchor of `from` to `to` (a resident-code change), in the caller's transaction (the
  // registry's event): every code stays. Nothing to do when `from` was never anchored.
  static Status move_resident(store::Connection& conn, const ResidentCode& from, const ResidentCode& to);

 private:
  static Result<std::string> derive(EVP_PKEY* key, const std::string& body, const std::string& person);

  store::Pool& pool_;
  store::Writer& writer_;
  pki::KeyStore* keys_ = nullptr;  // where a missing key is made; null: key_ is given
  std::mutex key_mu_;
  pki::EvpPkeyPtr owned_key_;
  EVP_PKEY* key_;
};

}  // namespace jlis::linkage
