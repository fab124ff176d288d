// Who may read what of the CA's register: certificates, a resident's list, the linkage; the
// registered verifiers and the basic-four provision on the holder's consent.
#include <openssl/rand.h>

#include <ctime>

#include "common/clock.h"
#include "common/digest.h"
#include "pki/ca.h"
#include "pki/ca_internal.h"

namespace jlis::pki {
namespace {

using store::Connection;
using store::Row;

constexpr int64_t kChallengeSeconds = 300;
constexpr const char* kConsentPurpose = "jpki_basic_four_consent";


Result<std::optional<Verifier>> load_verifier(Connection& conn, const std::string& id) {
  std::optional<Verifier> out;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT verifier_id, name, consent_provision, registered_at FROM pki_verifiers WHERE verifier_id = ?", {id},
      [&](const Row& r) {
        out = Verifier{r.text(0), r.text(1), r.int64(2) != 0, r.text(3)};
        return false;
      }));
  return out;
}

}  // namespace

namespace {

// The registered verifier behind a verifier token; permission_denied for anyone else.
Result<Verifier> registered_verifier(store::Pool& pool, const auth::Principal& by) {
  if (by.role != auth::Role::verifier) return permission_denied("only a registered verifier may do this");
  JLIS_ASSIGN_OR_RETURN(auto conn, pool.acquire());
  JLIS_ASSIGN_OR_RETURN(auto v, load_verifier(*conn, by.subject));
  if (!v) return permission_denied("the verifier is not registered with the CA (jlis verifier add)");
  return std::move(*v);
}

}  // namespace

Result<CertificateRecord> CertificateAuthority::certificate(const auth::Principal& by, const std::string& serial_text,
                                                            const std::string& request_id) {
  Impl& d = *impl_;
  if (by.role != auth::Role::municipality && by.role != auth::Role::verifier)
    return permission_denied("certificates are for the holder's municipality and registered verifiers");
  std::optional<Verifier> verifier;
  if (by.role == auth::Role::verifier) {
    JLIS_ASSIGN_OR_RETURN(verifier, registered_verifier(d.pool, by));
  }
  JLIS_ASSIGN_OR_RETURN(CertificateRecord rec, d.find(serial_text));
  JLIS_RETURN_IF_ERROR(d.check_holder(by, rec));
  if (verifier) {
    // A verifier learns what validation needs and nothing that names the holder: a signature
    // certificate carries the basic four (its subjectAltName), and the certificate itself leaves
    // only through the holder's consent (consent_provision). Nothing personal leaves, so nothing
    // is recorded.
    rec.der.clear();
    rec.card_id.clear();
    rec.resident_code = {};
  }
  (void)request_id;
  return rec;
}

Result<std::vector<std::pair<std::string, int64_t>>> CertificateAuthority::count_by_status(int64_t now) {
  JLIS_ASSIGN_OR_RETURN(auto conn, impl_->pool.acquire());
  const std::string hold = std::to_string(static_cast<int>(RevocationReason::certificate_hold));
  std::vector<std::pair<std::string, int64_t>> out;
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT CASE WHEN revoked_at IS NOT NULL AND reason = " + hold + " THEN 'on hold' WHEN revoked_at IS NOT NULL "
      "THEN 'revoked' WHEN not_after < ? THEN 'expired' ELSE 'good' END AS state, COUNT(*) FROM pki_certificates "
      "GROUP BY state ORDER BY state",
      {now}, [&](const store::Row& r) {
        out.emplace_back(r.text(0), r.int64(1));
        return true;
      }));
  return out;
}

Result<std::vector<CertificateRecord>> CertificateAuthority::certificates_of(const auth::Principal& by,
                                                                             const ResidentCode& resident,
                                                                             const std::string& purpose,
                                                                             const std::string& request_id) {
  Impl& d = *impl_;
  if (by.role == auth::Role::agency) {
    if (purpose.empty()) return permission_denied("an agency names its purpose (purpose=...)");
    if (!by.purposes.count(purpose)) return permission_denied("the purpose '" + purpose + "' is not granted");
  } else if (by.role != auth::Role::municipality) {
    return permission_denied("a resident's certificates are for their municipality and authorised agencies");
  }
  // A municipality gets the same answer for an unknown code and another municipality's resident.
  JLIS_ASSIGN_OR_RETURN(auto holder, by.role == auth::Role::municipality
                                         ? d.registry.get_for_municipality(resident, by.subject)
                                         : d.registry.get(resident));
  std::vector<CertificateRecord> out;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
    JLIS_RETURN_IF_ERROR(conn->query(std::string("SELECT ") + kCertificateColumns +
                                         " FROM pki_certificates WHERE resident_code = ? ORDER BY not_before, issued_at",
                                     {static_cast<int64_t>(holder.resident_code.body())}, [&](const Row& r) {
                                       out.push_back(read_certificate(r));
                                       return true;
                                     }));
  }
  if (by.role == auth::Role::agency) {
    JLIS_RETURN_IF_ERROR(d.registry.record_provision(by.subject, by.name, purpose, {holder.resident_code}, request_id));
  }
  return out;
}

Result<std::optional<std::string>> CertificateAuthority::linkage(const auth::Principal& by,
                                                                 const std::string& serial_text) {
  Impl& d = *impl_;
  if (by.role == auth::Role::verifier) {
    JLIS_RETURN_IF_ERROR(registered_verifier(d.pool, by).status());
  } else if (by.role != auth::Role::municipality) {
    return permission_denied("the linkage is for registered verifiers and the holder's municipality");
  }
  JLIS_ASSIGN_OR_RETURN(CertificateRecord rec, d.find(serial_text));
  JLIS_RETURN_IF_ERROR(d.check_holder(by, rec));
  return rec.next_serial;
}

Result<std::pair<Verifier, std::string>> CertificateAuthority::add_verifier(auth::Directory& directory,
                                                                            const std::string& name,
                                                                            bool consent_provision,
                                                                            const auth::TokenGrant& grant) {
  if (name.empty() || name.size() > 200) return invalid_argument("a verifier's name is 1 to 200 bytes");
  JLIS_ASSIGN_OR_RETURN(std::string hex, random_hex(8));
  Verifier v{"vf-" + hex, name, consent_provision, now_iso8601()};
  // The verifier and its token in one transaction.
  JLIS_ASSIGN_OR_RETURN(std::string token, directory.create_token(auth::Role::verifier, v.verifier_id, v.name, grant,
                                                                  [&](Connection& conn) {
    return conn.execute("INSERT INTO pki_verifiers (verifier_id, name, consent_provision, registered_at) VALUES (?, ?, ?, ?)",
                        {v.verifier_id, v.name, int64_t{v.consent_provision}, v.registered_at}).status();
  }));
  return std::pair{std::move(v), std::move(token)};
}

Result<std::vector<Verifier>> CertificateAuthority::verifiers() {
  JLIS_ASSIGN_OR_RETURN(auto conn, impl_->pool.acquire());
  std::vector<Verifier> out;
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT verifier_id, name, consent_provision, registered_at FROM pki_verifiers ORDER BY registered_at", {},
      [&](const Row& r) {
        out.push_back({r.text(0), r.text(1), r.int64(2) != 0, r.text(3)});
        return true;
      }));
  return out;
}

namespace {

// permission_denied unless `signature` is the RSA PKCS#1 v1.5 SHA-256 signature of the challenge
// bytes (base64 `challenge`) by the key of `rec`.
Status verify_challenge_signature(const CertificateRecord& rec, const std::string& challenge,
                                  const std::string& signature) {
  JLIS_ASSIGN_OR_RETURN(auto cert, x509_from_der(rec.der));
  EvpPkeyPtr key(X509_get_pubkey(cert.get()));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  JLIS_ASSIGN_OR_RETURN(std::string challenge_bytes, base64_decode(challenge));
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1)
    return openssl_error("preparing the verification");
  const int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                  signature.size(), reinterpret_cast<const unsigned char*>(challenge_bytes.data()),
                                  challenge_bytes.size());
  if (ok != 1) {
    (void)openssl_error("verifying");  // clears the queue
    return permission_denied("the signature does not verify with the certificate's key");
  }
  return Status::ok();
}

// Spends the challenge `challenge_id` of `owner` on the writer's connection, whatever comes next;
// answers its base64 bytes.
Result<std::string> spend_challenge(store::Writer& writer, const std::string& challenge_id, const std::string& owner,
                                    int64_t now) {
  std::string challenge;
  JLIS_RETURN_IF_ERROR(writer.run([&](Connection& conn) -> Status {
    challenge.clear();
    bool found = false;
    int64_t expires = 0, used = 0;
    std::string by;
    JLIS_RETURN_IF_ERROR(conn.query(
        "SELECT verifier_id, challenge, expires_at, used FROM pki_challenges WHERE challenge_id = ?", {challenge_id},
        [&](const Row& r) {
          found = true;
          by = r.text(0);
          challenge = r.text(1);
          expires = r.int64(2);
          used = r.int64(3);
          return false;
        }));
    if (!found || by != owner) return not_found("no such challenge");
    if (used) return conflict("the challenge was used already; ask for a new one");
    if (now > expires) return conflict("the challenge expired; ask for a new one");
    return conn.execute("UPDATE pki_challenges SET used = 1 WHERE challenge_id = ?", {challenge_id}).status();
  }));
  return challenge;
}

std::string release_owner(const std::string& serial) { return "release:" + serial; }

Status check_releasable(const CertificateRecord& rec) {
  if (rec.device != Device::smartphone || rec.kind != CertificateKind::authentication)
    return invalid_argument("only a smartphone's user-authentication certificate is released by its holder");
  return Status::ok();
}

}  // namespace

Result<CertificateAuthority::Challenge> CertificateAuthority::new_release_challenge(const std::string& serial_text) {
  Impl& d = *impl_;
  // Asked without a token: whether the serial is known, on hold or releasable is not said here
  // (a challenge is made for any well-formed serial); release_hold tells only the key's holder.
  JLIS_ASSIGN_OR_RETURN(std::string serial, normalise_serial(serial_text));
  std::string raw(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), 32) != 1) return internal_error("no randomness");
  JLIS_ASSIGN_OR_RETURN(std::string id, random_hex(16));
  Challenge c{"rc-" + id, base64_encode(raw), d.now() + kChallengeSeconds};
  JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) {
    return conn.execute("INSERT INTO pki_challenges (challenge_id, verifier_id, challenge, expires_at) VALUES (?, ?, ?, ?)",
                        {c.challenge_id, release_owner(serial), c.challenge, c.expires_at}).status();
  }));
  return c;
}

Result<CertificateRecord> CertificateAuthority::release_hold(const std::string& challenge_id,
                                                             const std::string& serial_text,
                                                             const std::string& signature_base64) {
  Impl& d = *impl_;
  JLIS_ASSIGN_OR_RETURN(std::string serial, normalise_serial(serial_text));
  auto signature = base64_decode(signature_base64);
  if (!signature.ok() || signature->empty()) return invalid_argument("signature must be base64");
  const int64_t now = d.now();
  JLIS_ASSIGN_OR_RETURN(std::string challenge, spend_challenge(d.writer, challenge_id, release_owner(serial), now));
  // Until the signature proves the caller holds the certificate's key, an unknown serial and a
  // wrong signature get the same answer: no existence oracle for strangers.
  auto found = d.find(serial);
  if (!found.ok() && found.status().code() != Code::not_found) return found.status();
  if (!found.ok() || !verify_challenge_signature(*found, challenge, *signature).is_ok())
    return permission_denied("the signature does not verify with the key of a certificate on hold");
  const CertificateRecord rec = std::move(*found);
  JLIS_RETURN_IF_ERROR(check_releasable(rec));
  JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) -> Status {
    JLIS_ASSIGN_OR_RETURN(bool released, release_in(conn, rec.serial));
    if (!released) return conflict("the certificate is not on hold");
    std::vector<std::string> signature_serials;
    JLIS_RETURN_IF_ERROR(conn.query(
        "SELECT serial FROM pki_certificates WHERE card_id = ? AND device = 'smartphone' AND ca = 'signature' "
        "AND (revoked_at IS NULL OR reason = ?)",
        {rec.card_id, static_cast<int64_t>(RevocationReason::certificate_hold)}, [&](const Row& r) {
          signature_serials.push_back(r.text(0));
          return true;
        }));
    for (const auto& s : signature_serials)
      JLIS_RETURN_IF_ERROR(revoke_in(conn, s, RevocationReason::cessation_of_operation, now));
    return Status::ok();
  }));
  return d.find(rec.serial);
}

Result<CertificateAuthority::Challenge> CertificateAuthority::new_challenge(const auth::Principal& by) {
  Impl& d = *impl_;
  JLIS_ASSIGN_OR_RETURN(Verifier v, registered_verifier(d.pool, by));
  if (!v.consent_provision) return permission_denied("the verifier is not registered for the basic-four provision");
  std::string raw(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), 32) != 1) return internal_error("no randomness");
  JLIS_ASSIGN_OR_RETURN(std::string id, random_hex(16));
  Challenge c{"ch-" + id, base64_encode(raw), d.now() + kChallengeSeconds};
  JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) {
    return conn.execute("INSERT INTO pki_challenges (challenge_id, verifier_id, challenge, expires_at) VALUES (?, ?, ?, ?)",
                        {c.challenge_id, v.verifier_id, c.challenge, c.expires_at}).status();
  }));
  return c;
}

Result<ConsentProvision> CertificateAuthority::consent_provision(const auth::Principal& by,
                                                                 const std::string& challenge_id,
                                                                 const std::string& serial_text,
                                                                 const std::string& signature_base64,
                                                                 const std::string& request_id) {
  Impl& d = *impl_;
  JLIS_ASSIGN_OR_RETURN(Verifier v, registered_verifier(d.pool, by));
  if (!v.consent_provision) return permission_denied("the verifier is not registered for the basic-four provision");
  JLIS_RETURN_IF_ERROR(normalise_serial(serial_text).status());  // malformed input before the challenge is spent
  auto signature = base64_decode(signature_base64);
  if (!signature.ok() || signature->empty()) return invalid_argument("signature must be base64");
  // The challenge is used once, whatever the outcome: a failed attempt needs a new one.
  const int64_t now = d.now();
  JLIS_ASSIGN_OR_RETURN(std::string challenge, spend_challenge(d.writer, challenge_id, v.verifier_id, now));
  JLIS_ASSIGN_OR_RETURN(auto rec, d.find(serial_text));
  if (rec.kind != CertificateKind::signature) return invalid_argument("the consent is given with a signature certificate");
  if (now > rec.not_after) return conflict("the certificate has expired");
  // A certificate revoked because the basic four changed (or renewed) still proves its holder:
  // that is when a verifier needs the latest basic four. A compromised key or a death does not.
  // A certificate on hold (a suspended card) may not be used until the hold ends.
  if (rec.on_hold()) return conflict("the certificate is on hold (certificateHold): the card is suspended");
  if (rec.revoked_at && rec.reason != RevocationReason::affiliation_changed &&
      rec.reason != RevocationReason::superseded)
    return conflict("the certificate was revoked (" + std::string(reason_name(rec.reason)) + ")");
  JLIS_RETURN_IF_ERROR(verify_challenge_signature(rec, challenge, *signature));
  JLIS_ASSIGN_OR_RETURN(auto resident, d.registry.get(rec.resident_code));
  if (resident.status == registry::ResidentStatus::deceased) return conflict("the holder is deceased");
  // The newest signature certificate along the old-to-new linkage, when it is good: the holder's
  // consent covers it (it carries the same basic four).
  std::optional<CertificateRecord> latest;
  {
    CertificateRecord at = rec;
    for (int hops = 0; at.next_serial && hops < 1000; ++hops) {
      JLIS_ASSIGN_OR_RETURN(at, d.find(*at.next_serial));
    }
    if (at.status(now) == "good") latest = std::move(at);
  }
  JLIS_RETURN_IF_ERROR(
      d.registry.record_provision(v.verifier_id, v.name, kConsentPurpose, {resident.resident_code}, request_id));
  ++d.consents;
  return ConsentProvision{rec.serial, std::move(resident), std::move(latest)};
}

}  // namespace jlis::pki
