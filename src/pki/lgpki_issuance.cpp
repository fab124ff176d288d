// LGPKI issuance, revocation and reads (lgpki.h).
#include <algorithm>

#include "common/clock.h"
#include "common/digest.h"
#include "pki/ca_internal.h"
#include "pki/key_policy.h"
#include "pki/lgpki.h"
#include "pki/lgpki_internal.h"
#include "pki/request.h"
#include "pki/timestamp.h"

namespace jlis::pki {

using store::Connection;
using store::Row;

namespace {

constexpr int64_t kDay = 86400;
constexpr int kMaxValidityDays = 5 * 365 + 1;
constexpr int64_t kOwnRenewBefore = 30 * kDay;  // J-LIS's own certificates are replaced this long before expiry
constexpr const char* kTsaName = "LGPKI Time-Stamping Authority";
constexpr const char* kMessageSignerName = "J-LIS Information-Linkage Platform";

int default_validity_days(LgpkiProfile profile) {
  return profile == LgpkiProfile::application_server ? 397 : 3 * 365;
}

constexpr const char* kLgpkiCertificateColumns =
    "serial, profile, ca, generation, municipality, subject, not_before, not_after, revoked_at, reason, der, key_label";

// A certificate whose issuing CA is revoked (revoke_ca) signs nothing more, as if it were revoked.
constexpr const char* kIssuerNotRevoked =
    "NOT EXISTS (SELECT 1 FROM lgpki_authorities a WHERE a.name = lgpki_certificates.ca AND "
    "a.generation = lgpki_certificates.generation AND a.revoked_at IS NOT NULL)";

// Whether `ca` of `generation` is revoked (revoke_ca).
Result<bool> ca_revoked(Connection& conn, LgpkiCa ca, int generation) {
  JLIS_ASSIGN_OR_RETURN(auto n, conn.query_int64("SELECT COUNT(*) FROM lgpki_authorities WHERE name = ? AND "
                                                 "generation = ? AND revoked_at IS NOT NULL",
                                                 {std::string(lgpki_ca_name(ca)), static_cast<int64_t>(generation)}));
  return n.value_or(0) > 0;
}

Result<LgpkiCertificate> read_row(const Row& r) {
  LgpkiCertificate c;
  c.serial = r.text(0);
  JLIS_ASSIGN_OR_RETURN(c.profile, parse_lgpki_profile(r.text(1)));
  JLIS_ASSIGN_OR_RETURN(c.ca, parse_lgpki_ca(r.text(2)));
  c.generation = static_cast<int>(r.int64(3));
  c.municipality_code = r.text(4);
  c.subject = r.text(5);
  c.not_before = r.int64(6);
  c.not_after = r.int64(7);
  if (!r.is_null(8)) c.revoked_at = r.int64(8);
  c.reason = static_cast<RevocationReason>(r.int64(9));
  JLIS_ASSIGN_OR_RETURN(c.der, base64_decode(r.text(10)));
  c.key_label = r.optional_text(11).value_or("");
  return c;
}

Result<std::optional<LgpkiCertificate>> load_lgpki_certificate(Connection& conn, const std::string& serial) {
  std::optional<Result<LgpkiCertificate>> found;
  JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kLgpkiCertificateColumns + " FROM lgpki_certificates WHERE serial = ?",
                                  {serial}, [&](const Row& r) {
                                    found = read_row(r);
                                    return false;
                                  }));
  if (!found) return std::optional<LgpkiCertificate>{};
  JLIS_RETURN_IF_ERROR(found->status());
  return std::optional<LgpkiCertificate>(std::move(found->value()));
}

}  // namespace

Status check_lgpki_revocation_reason(RevocationReason reason, bool ca) {
  switch (reason) {
    case RevocationReason::unspecified:
    case RevocationReason::key_compromise:
    case RevocationReason::affiliation_changed:
    case RevocationReason::superseded:
    case RevocationReason::cessation_of_operation:
    case RevocationReason::privilege_withdrawn:
      return Status::ok();
    case RevocationReason::ca_compromise:
      if (ca) return Status::ok();
      break;
    default:
      break;
  }
  return invalid_argument("an LGPKI revocation does not take the reason " + std::string(reason_name(reason)));
}

Result<LgpkiCertificate> LgpkiAuthority::issue(const LgpkiIssuance& in) {
  Impl& d = *impl_;
  JLIS_RETURN_IF_ERROR(check_lgpki_subject(in.profile, in.subject));
  JLIS_ASSIGN_OR_RETURN(CertificationRequest request, parse_certification_request(in.request));
  JLIS_RETURN_IF_ERROR(check_key_policy(request.key.rsa_public_key));
  if (in.validity_days < 0 || in.validity_days > kMaxValidityDays)
    return invalid_argument("validity_days is 0 (the profile's default) to " + std::to_string(kMaxValidityDays));
  const int days = in.validity_days == 0 ? default_validity_days(in.profile) : in.validity_days;
  const int64_t now = d.now();
  LgpkiCertificate out;
  out.profile = in.profile;
  out.ca = lgpki_issuer_of(in.profile);
  out.municipality_code = in.subject.municipality_code;
  out.key_label = in.key_label;
  out.not_before = now;
  {
    std::lock_guard lock(d.mu);
    if (d.generations.empty()) return conflict("the LGPKI hierarchy has not been created (init)");
    Impl::Generation& g = *d.generations.back();
    Impl::Ca& ca = g.issuing[static_cast<size_t>(out.ca)];
    out.generation = g.number;
    JLIS_ASSIGN_OR_RETURN(const int64_t ca_until, unix_seconds(X509_get0_notAfter(ca.cert.get())));
    out.not_after = std::min(now + days * kDay, ca_until);
    if (out.not_after <= now) return conflict("the issuing CA has expired");
    JLIS_ASSIGN_OR_RETURN(out.serial, new_serial());
    LgpkiCertificateParams p;
    p.profile = in.profile;
    p.subject = &in.subject;
    p.ca = ca.cert.get();
    JLIS_ASSIGN_OR_RETURN(p.ca_key, d.key_of(ca));
    p.ca_crl_name = lgpki_crl_name(out.ca, g.number);
    p.rsa_public_key = request.key.rsa_public_key;
    p.serial_hex = out.serial;
    p.not_before = out.not_before;
    p.not_after = out.not_after;
    p.public_url = d.options.public_url;
    JLIS_ASSIGN_OR_RETURN(X509Ptr cert, make_lgpki_certificate(p));
    out.subject = lgpki_name_text(X509_get_subject_name(cert.get()));
    JLIS_ASSIGN_OR_RETURN(out.der, x509_der(cert.get()));
  }
  const std::string issued_at = iso8601_seconds(now);
  JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) -> Status {
    std::optional<int64_t> revoked;
    bool found = false;
    JLIS_RETURN_IF_ERROR(conn.query("SELECT revoked_at FROM lgpki_authorities WHERE name = ? AND generation = ?",
                                    {std::string(lgpki_ca_name(out.ca)), static_cast<int64_t>(out.generation)},
                                    [&](const Row& r) {
                                      found = true;
                                      if (!r.is_null(0)) revoked = r.int64(0);
                                      return false;
                                    }));
    if (!found) return internal_error("the issuing CA is not in lgpki_authorities");
    if (revoked)
      return conflict("the LGPKI " + std::string(lgpki_ca_name(out.ca)) + " CA of generation " +
                      std::to_string(out.generation) + " is revoked and issues no more");
    JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO lgpki_certificates (serial, profile, ca, generation, municipality, "
                                      "subject, not_before, not_after, issued_at, der, key_label) "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                      {out.serial, std::string(lgpki_profile_name(out.profile)),
                                       std::string(lgpki_ca_name(out.ca)), static_cast<int64_t>(out.generation),
                                       out.municipality_code, out.subject, out.not_before, out.not_after, issued_at,
                                       base64_encode(out.der),
                                       out.key_label.empty() ? store::Value() : store::Value(out.key_label)})
                             .status());
    return in.also ? in.also(conn, out) : Status::ok();
  }));
  return out;
}

Result<LgpkiCertificate> LgpkiAuthority::revoke(
    std::string_view serial_text, RevocationReason reason,
    const std::function<Status(store::Connection&, const LgpkiCertificate&)>& also) {
  Impl& d = *impl_;
  JLIS_RETURN_IF_ERROR(check_lgpki_revocation_reason(reason, false));
  JLIS_ASSIGN_OR_RETURN(const std::string serial, normalise_serial(serial_text));
  const int64_t now = d.now();
  LgpkiCertificate out;
  JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) -> Status {
    JLIS_ASSIGN_OR_RETURN(auto rec, load_lgpki_certificate(conn, serial));
    if (!rec) return not_found("no LGPKI certificate has the serial " + serial);
    if (rec->revoked_at) return conflict("the LGPKI certificate " + serial + " is revoked already");
    JLIS_RETURN_IF_ERROR(conn.execute("UPDATE lgpki_certificates SET revoked_at = ?, reason = ? WHERE serial = ?",
                                      {now, static_cast<int64_t>(reason), serial})
                             .status());
    out = std::move(*rec);
    out.revoked_at = now;
    out.reason = reason;
    return also ? also(conn, out) : Status::ok();
  }));
  // Committed: the next OCSP request must say revoked.
  refresh_lgpki_ocsp(d, out.ca, out.generation, out.serial);
  return out;
}

Status LgpkiAuthority::revoke_ca(LgpkiCa ca, int generation, RevocationReason reason) {
  Impl& d = *impl_;
  JLIS_RETURN_IF_ERROR(check_lgpki_revocation_reason(reason, true));
  const int64_t now = d.now();
  return d.writer.run([&](Connection& conn) -> Status {
    bool found = false, revoked = false;
    JLIS_RETURN_IF_ERROR(conn.query("SELECT revoked_at FROM lgpki_authorities WHERE name = ? AND generation = ?",
                                    {std::string(lgpki_ca_name(ca)), static_cast<int64_t>(generation)},
                                    [&](const Row& r) {
                                      found = true;
                                      revoked = !r.is_null(0);
                                      return false;
                                    }));
    if (!found)
      return not_found("LGPKI has no " + std::string(lgpki_ca_name(ca)) + " CA of generation " +
                       std::to_string(generation));
    if (revoked) return conflict("that LGPKI CA is revoked already");
    return conn.execute("UPDATE lgpki_authorities SET revoked_at = ?, reason = ? WHERE name = ? AND generation = ?",
                        {now, static_cast<int64_t>(reason), std::string(lgpki_ca_name(ca)),
                         static_cast<int64_t>(generation)})
        .status();
  });
}

Result<LgpkiCertificate> LgpkiAuthority::certificate(std::string_view serial_text) {
  JLIS_ASSIGN_OR_RETURN(const std::string serial, normalise_serial(serial_text));
  JLIS_ASSIGN_OR_RETURN(auto conn, impl_->pool.acquire());
  JLIS_ASSIGN_OR_RETURN(auto rec, load_lgpki_certificate(*conn, serial));
  if (!rec) return not_found("no LGPKI certificate has the serial " + serial);
  return std::move(*rec);
}

Result<LgpkiSigner> LgpkiAuthority::current_signer(const std::string& municipality_code, int64_t now) {
  Impl& d = *impl_;
  std::optional<Result<LgpkiCertificate>> found;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
    for (const char* profile : {"document-signing", "position"}) {
      JLIS_RETURN_IF_ERROR(conn->query(std::string("SELECT ") + kLgpkiCertificateColumns +
                                           " FROM lgpki_certificates WHERE municipality = ? AND profile = ? AND "
                                           "revoked_at IS NULL AND not_before <= ? AND not_after > ? AND " +
                                           kIssuerNotRevoked + " ORDER BY not_after DESC, serial LIMIT 1",
                                       {municipality_code, std::string(profile), now, now}, [&](const Row& r) {
                                         found = read_row(r);
                                         return false;
                                       }));
      if (found) break;
    }
    if (!found) return not_found("local government " + municipality_code +
                                 " has no current LGPKI document-signing or position certificate");
    JLIS_RETURN_IF_ERROR(found->status());
  }
  LgpkiSigner out;
  out.certificate = std::move(found->value());
  std::lock_guard lock(d.mu);
  Impl::Generation* g = d.generation(out.certificate.generation);
  if (g == nullptr) return internal_error("an LGPKI certificate names a generation that does not exist");
  JLIS_ASSIGN_OR_RETURN(std::string ca, x509_der(g->issuing[static_cast<size_t>(out.certificate.ca)].cert.get()));
  JLIS_ASSIGN_OR_RETURN(std::string root, x509_der(g->root.cert.get()));
  out.chain = {std::move(ca), std::move(root)};
  return out;
}

Result<std::string> LgpkiOwnKey::sign(std::string_view data, int64_t signing_time) const {
  CadesSigner signer{x509.get(), key.get(), {}};
  for (const X509Ptr& c : chain) signer.chain.push_back(c.get());
  std::lock_guard lock(sign_mu);
  return cades_sign(data, signer, signing_time);
}

Result<std::unique_ptr<LgpkiOwnKey>> LgpkiAuthority::own_key(LgpkiProfile profile, const LgpkiCertificate* in_use) {
  Impl& d = *impl_;
  const int64_t now = d.now();
  const int current = generation();
  if (current == 0) return conflict("the LGPKI hierarchy has not been created (init)");
  JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
  if (in_use != nullptr && in_use->generation == current && in_use->not_after > now + kOwnRenewBefore) {
    // Kept unless it or its issuing CA is revoked (a row not found yet, on a replica behind the
    // writer, is the one just made).
    JLIS_ASSIGN_OR_RETURN(auto revoked, conn->query_int64(
        "SELECT COUNT(*) FROM lgpki_certificates WHERE serial = ? AND revoked_at IS NOT NULL", {in_use->serial}));
    JLIS_ASSIGN_OR_RETURN(bool issuer_revoked, ca_revoked(*conn, in_use->ca, in_use->generation));
    if (revoked.value_or(0) == 0 && !issuer_revoked) return std::unique_ptr<LgpkiOwnKey>();
  }
  std::optional<Result<LgpkiCertificate>> found;
  JLIS_RETURN_IF_ERROR(conn->query(std::string("SELECT ") + kLgpkiCertificateColumns +
                                       " FROM lgpki_certificates WHERE profile = ? AND generation = ? AND "
                                       "revoked_at IS NULL AND key_label IS NOT NULL AND not_before <= ? AND "
                                       "not_after > ? AND " + kIssuerNotRevoked +
                                       " ORDER BY not_after DESC, serial LIMIT 1",
                                   {std::string(lgpki_profile_name(profile)), static_cast<int64_t>(current), now,
                                    now + kOwnRenewBefore},
                                   [&](const Row& r) {
                                     found = read_row(r);
                                     return false;
                                   }));
  if (!found) {
    // No key is made for a CA that would refuse it (issue checks again in its transaction).
    const LgpkiCa issuer = lgpki_issuer_of(profile);
    JLIS_ASSIGN_OR_RETURN(bool refused, ca_revoked(*conn, issuer, current));
    if (refused)
      return unavailable("the LGPKI " + std::string(lgpki_ca_name(issuer)) + " CA of generation " +
                      std::to_string(current) + " is revoked: J-LIS's own " +
                      std::string(lgpki_profile_name(profile)) +
                      " certificate is made again from the next generation (jlis lgpki rollover)");
  }
  conn.reset();
  auto out = std::make_unique<LgpkiOwnKey>();
  if (found) {
    JLIS_RETURN_IF_ERROR(found->status());
    out->certificate = std::move(found->value());
  } else {
    const bool tsa = profile == LgpkiProfile::time_stamping;
    JLIS_ASSIGN_OR_RETURN(std::string hex, random_hex(8));
    LgpkiIssuance in;
    in.profile = profile;
    in.subject.common_name = tsa ? kTsaName : kMessageSignerName;
    in.key_label =
        std::string(tsa ? "lgpki-tsa" : "lgpki-message-signing") + "-g" + std::to_string(current) + "-" + hex;
    JLIS_ASSIGN_OR_RETURN(EvpPkeyPtr key, d.keys.generate(in.key_label));
    JLIS_ASSIGN_OR_RETURN(in.request, make_certification_request(key.get(), in.key_label));
    JLIS_ASSIGN_OR_RETURN(out->certificate, issue(in));
  }
  JLIS_ASSIGN_OR_RETURN(out->x509, x509_from_der(out->certificate.der));
  JLIS_ASSIGN_OR_RETURN(out->key, d.keys.load(out->certificate.key_label));
  std::lock_guard g_lock(d.mu);
  Impl::Generation* g = d.generation(out->certificate.generation);
  if (g == nullptr) return internal_error("a certificate of J-LIS's own names a generation that does not exist");
  for (X509* c : {g->issuing[static_cast<size_t>(out->certificate.ca)].cert.get(), g->root.cert.get()}) {
    if (X509_up_ref(c) != 1) return openssl_error("X509_up_ref");
    out->chain.emplace_back(c);
  }
  return out;
}

Result<std::shared_ptr<const TimeStampAuthority>> LgpkiAuthority::time_stamp_authority() {
  Impl& d = *impl_;
  std::lock_guard lock(d.tsa_mu);
  JLIS_ASSIGN_OR_RETURN(auto own, own_key(LgpkiProfile::time_stamping, d.tsa ? &d.tsa_certificate : nullptr));
  if (own == nullptr) return d.tsa;
  JLIS_ASSIGN_OR_RETURN(auto tsa, TimeStampAuthority::make(std::move(own->x509), std::move(own->key),
                                                           std::move(own->chain),
                                                           lgpki_policy_oid(LgpkiProfile::time_stamping)));
  d.tsa = std::make_shared<const TimeStampAuthority>(std::move(tsa));
  d.tsa_certificate = std::move(own->certificate);
  return d.tsa;
}

Result<std::shared_ptr<const LgpkiOwnKey>> LgpkiAuthority::message_signer() {
  Impl& d = *impl_;
  std::lock_guard lock(d.signer_mu);
  JLIS_ASSIGN_OR_RETURN(auto own,
                        own_key(LgpkiProfile::message_signing, d.signer ? &d.signer->certificate : nullptr));
  if (own != nullptr) d.signer = std::move(own);
  return d.signer;
}

}  // namespace jlis::pki
