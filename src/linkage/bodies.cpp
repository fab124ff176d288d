#include "linkage/bodies.h"

#include "common/clock.h"
#include "common/digest.h"
#include "common/enum_names.h"
#include "common/identifiers.h"
#include "linkage/signatures.h"
#include "pki/lgpki_profile.h"
#include "pki/openssl.h"
#include "store/migrations.h"

namespace jlis::linkage {

using store::Connection;
using store::Row;

namespace {

const std::vector<store::Migration> kBodyMigrations = {{1, R"sql(
CREATE TABLE linkage_bodies (
  body_id TEXT PRIMARY KEY,            -- "<kind>-<code>" (bodies.h)
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  code TEXT NOT NULL,
  registered_at TEXT NOT NULL,         -- ISO 8601 UTC
  active BIGINT NOT NULL               -- 1, or 0 once removed
);
)sql"},
                                                      {2, R"sql(
CREATE TABLE linkage_body_certificates (
  fingerprint TEXT PRIMARY KEY,        -- SHA-256 of the DER, hex
  body_id TEXT NOT NULL REFERENCES linkage_bodies (body_id),
  serial TEXT NOT NULL,
  subject TEXT NOT NULL,
  not_after TEXT NOT NULL,
  certificate TEXT NOT NULL,           -- PEM
  registered_at TEXT NOT NULL,
  removed_at TEXT                      -- NULL while in use
);
CREATE INDEX linkage_body_certificates_body ON linkage_body_certificates (body_id);
)sql"},
                                                      {3, R"sql(
-- The provider's own system, which answers the queries the platform forwards (queries.h); '' for none.
ALTER TABLE linkage_bodies ADD COLUMN endpoint TEXT NOT NULL DEFAULT '';
)sql"},
                                                      {4, R"sql(
-- How many times the bodies have changed: queries keep the bodies they read while it stands (ActiveBodies).
CREATE TABLE linkage_body_changes (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO linkage_body_changes (id, n) VALUES (1, 0);
)sql"}};

// In the transaction that registers, removes or changes a body.
Status count_change(Connection& conn) {
  return conn.execute("UPDATE linkage_body_changes SET n = n + 1 WHERE id = 1").status();
}

bool all_digits(const std::string& s, size_t n) {
  return s.size() == n && s.find_first_not_of("0123456789") == std::string::npos;
}

// 法人番号: the first digit checks the twelve after it: 9 - (Σ digit × (1 or 2, from the right) mod 9).
bool valid_corporate_number(const std::string& s) {
  if (!all_digits(s, 13)) return false;
  int sum = 0;
  for (int n = 1; n <= 12; ++n) sum += (s[13 - n] - '0') * (n % 2 == 1 ? 1 : 2);
  return s[0] - '0' == 9 - sum % 9;
}

Body body_of(const Row& r) {
  return {r.text(0), parse_body_kind(r.text(1)).value(), r.text(2), r.text(3), r.text(4), r.int64(5) != 0, r.text(6)};
}

BodyCertificate certificate_of(const Row& r) {
  return {r.text(0), r.text(1), r.text(2), r.text(3), r.text(4), r.text(5), r.is_null(6) ? "" : r.text(6)};
}

constexpr const char* kSelectCertificates =
    "SELECT fingerprint, body_id, serial, subject, not_after, registered_at, removed_at FROM linkage_body_certificates";

constexpr const char* kSelectBodies =
    "SELECT body_id, kind, name, code, registered_at, active, endpoint FROM linkage_bodies";

}  // namespace

Result<BodyKind> parse_body_kind(std::string_view name) {
  return parse_enum_name<BodyKind>(kBodyKindNames, name, "the body kind");
}

Status check_body_code(BodyKind kind, const std::string& code) {
  switch (kind) {
    case BodyKind::municipality:
    case BodyKind::prefecture: {
      auto lg = LocalGovernmentCode::parse(code);
      // A prefecture's code is PP000C; every other local government's has a non-zero middle.
      const bool prefecture = lg.ok() && lg->body() % 1000 == 0;
      if (!lg.ok() || prefecture != (kind == BodyKind::prefecture))
        return invalid_argument(std::string("a ") + std::string(body_kind_name(kind)) + "'s code is its 6-digit " +
                                (kind == BodyKind::prefecture ? "prefecture code (PP000C)" : "local-government code") +
                                ", check digit included");
      return Status::ok();
    }
    case BodyKind::health_insurer:
      if (!all_digits(code, 8)) return invalid_argument("a health insurer's code is its 8-digit insurer number");
      return Status::ok();
    case BodyKind::pension_service:
    case BodyKind::ministry:
      if (!valid_corporate_number(code))
        return invalid_argument("a " + std::string(body_kind_name(kind)) +
                                "'s code is its 13-digit corporate number (法人番号), check digit included");
      return Status::ok();
  }
  return invalid_argument("unknown body kind");
}

Status Bodies::migrate(Connection& conn) { return store::migrate(conn, "linkage_bodies", kBodyMigrations); }

Result<std::pair<Body, std::string>> Bodies::add(BodyKind kind, const std::string& name, const std::string& code,
                                                 const auth::TokenGrant& grant) {
  if (name.empty() || name.size() > 200) return invalid_argument("a body's name is 1 to 200 bytes");
  JLIS_RETURN_IF_ERROR(check_body_code(kind, code));
  Body b{std::string(body_kind_name(kind)) + "-" + code, kind, name, code, now_iso8601(), true};
  // The body and its token in one transaction: the token exists only if the body does.
  JLIS_ASSIGN_OR_RETURN(std::string token,
                        directory_.create_token(auth::Role::linkage_body, b.body_id, b.name, grant, [&](Connection& c) {
                          bool taken = false;
                          JLIS_RETURN_IF_ERROR(c.query("SELECT 1 FROM linkage_bodies WHERE body_id = ?", {b.body_id},
                                                       [&](const Row&) {
                                                         taken = true;
                                                         return false;
                                                       }));
                          if (taken) return conflict("body " + b.body_id + " is registered already");
                          JLIS_RETURN_IF_ERROR(count_change(c));
                          return c.execute("INSERT INTO linkage_bodies (body_id, kind, name, code, registered_at, "
                                           "active) VALUES (?, ?, ?, ?, ?, 1)",
                                           {b.body_id, std::string(body_kind_name(kind)), b.name, b.code,
                                            b.registered_at})
                              .status();
                        }));
  return std::pair{std::move(b), std::move(token)};
}

Result<std::vector<Body>> Bodies::list() {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<Body> out;
  JLIS_RETURN_IF_ERROR(conn->query(std::string(kSelectBodies) + " ORDER BY registered_at, body_id", {}, [&](const Row& r) {
    out.push_back(body_of(r));
    return true;
  }));
  return out;
}

Result<Body> Bodies::get(const std::string& body_id) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::optional<Body> out;
  JLIS_RETURN_IF_ERROR(conn->query(std::string(kSelectBodies) + " WHERE body_id = ?", {body_id}, [&](const Row& r) {
    out = body_of(r);
    return false;
  }));
  if (!out) return not_found("no body " + body_id + " (jlis linkage body list)");
  return *out;
}

Result<Body> Bodies::active(Connection& conn, const std::string& body_id) {
  std::optional<Body> out;
  JLIS_RETURN_IF_ERROR(conn.query(std::string(kSelectBodies) + " WHERE body_id = ?", {body_id}, [&](const Row& r) {
    out = body_of(r);
    return false;
  }));
  if (!out) return not_found("no body " + body_id + " is registered on the linkage platform");
  if (!out->active) return permission_denied("body " + body_id + " was removed from the linkage platform");
  return *out;
}

const Result<Body>& ActiveBodies::operator()(const std::string& body_id) {
  if (!counted_) {
    auto changes = conn_.query_int64("SELECT n FROM linkage_body_changes WHERE id = 1");
    if (!changes.ok()) return failed_.emplace(changes.status());
    if (changes->value_or(0) != known_.changes) {
      known_.read.clear();
      known_.changes = changes->value_or(0);
    }
    counted_ = true;
  }
  if (auto it = known_.read.find(body_id); it != known_.read.end()) return it->second;
  Result<Body> read = Bodies::active(conn_, body_id);
  const bool answer = read.ok() || read.status().code() == Code::not_found ||
                      read.status().code() == Code::permission_denied;
  if (!answer) return failed_.emplace(std::move(read));  // the store failed: not kept
  return known_.read.emplace(body_id, std::move(read)).first->second;
}

Status Bodies::remove(const std::string& body_id, const std::string& by) {
  return directory_.revoke_tokens_of(auth::Role::linkage_body, body_id, by, [&](Connection& c) -> Status {
    std::optional<int64_t> active;
    JLIS_RETURN_IF_ERROR(c.query("SELECT active FROM linkage_bodies WHERE body_id = ?", {body_id}, [&](const Row& r) {
      active = r.int64(0);
      return false;
    }));
    if (!active) return not_found("no body " + body_id + " (jlis linkage body list)");
    if (*active == 0) return conflict("body " + body_id + " was removed already");
    JLIS_RETURN_IF_ERROR(count_change(c));
    return c.execute("UPDATE linkage_bodies SET active = 0 WHERE body_id = ?", {body_id}).status();
  });
}

Status Bodies::set_endpoint(const std::string& body_id, const std::string& url) {
  if (!url.empty() && (!url.starts_with("http://") || url.size() > 500 ||
                       url.find_first_of(" \t\r\n") != std::string::npos))
    return invalid_argument("an endpoint is an http:// URL of at most 500 characters (TLS ends at the proxy)");
  return writer_.run([&](Connection& conn) -> Status {
    JLIS_RETURN_IF_ERROR(active(conn, body_id).status());
    JLIS_RETURN_IF_ERROR(count_change(conn));
    return conn.execute("UPDATE linkage_bodies SET endpoint = ? WHERE body_id = ?", {url, body_id}).status();
  });
}

Result<BodyCertificate> Bodies::add_certificate(const std::string& body_id, const std::string& pem) {
  auto cert = pki::x509_from_pem(pem);
  if (!cert.ok()) return invalid_argument("not a PEM certificate: " + cert.status().message());
  JLIS_ASSIGN_OR_RETURN(std::string der, pki::x509_der(cert->get()));
  JLIS_ASSIGN_OR_RETURN(std::string clean_pem, pki::x509_pem(cert->get()));
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert->get()), &tm) != 1) return invalid_argument("the certificate's notAfter");
  BodyCertificate c{sha256_hex(der), body_id, pki::serial_hex(X509_get0_serialNumber(cert->get())), pki::lgpki_name_text(X509_get_subject_name(cert->get())),
                    iso8601_seconds(static_cast<int64_t>(timegm(&tm))), now_iso8601(), ""};
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    JLIS_RETURN_IF_ERROR(active(conn, body_id).status());
    std::string holder;
    JLIS_RETURN_IF_ERROR(conn.query("SELECT body_id FROM linkage_body_certificates WHERE fingerprint = ?",
                                    {c.fingerprint}, [&](const Row& r) {
                                      holder = r.text(0);
                                      return false;
                                    }));
    if (!holder.empty()) return conflict("the certificate is registered already (to " + holder + ")");
    return conn
        .execute("INSERT INTO linkage_body_certificates (fingerprint, body_id, serial, subject, not_after, certificate, "
                 "registered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 {c.fingerprint, c.body_id, c.serial, c.subject, c.not_after, clean_pem, c.registered_at})
        .status();
  }));
  return c;
}

Result<std::vector<BodyCertificate>> Bodies::certificates(const std::string& body_id) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<BodyCertificate> out;
  JLIS_RETURN_IF_ERROR(conn->query(std::string(kSelectCertificates) + " WHERE body_id = ? ORDER BY registered_at, fingerprint",
                                   {body_id}, [&](const Row& r) {
                                     out.push_back(certificate_of(r));
                                     return true;
                                   }));
  return out;
}

Status Bodies::remove_certificate(const std::string& fingerprint) {
  return writer_.run([&](Connection& conn) -> Status {
    std::optional<BodyCertificate> c;
    JLIS_RETURN_IF_ERROR(conn.query(std::string(kSelectCertificates) + " WHERE fingerprint = ?", {fingerprint},
                                    [&](const Row& r) {
                                      c = certificate_of(r);
                                      return false;
                                    }));
    if (!c) return not_found("no certificate " + fingerprint + " is registered");
    if (!c->removed_at.empty()) return conflict("certificate " + fingerprint + " was removed already");
    return conn.execute("UPDATE linkage_body_certificates SET removed_at = ? WHERE fingerprint = ?",
                        {now_iso8601(), fingerprint})
        .status();
  });
}

Status Bodies::check_signer(Connection& conn, const std::string& body_id, const std::string& fingerprint) {
  bool registered = false;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT 1 FROM linkage_body_certificates WHERE fingerprint = ? AND body_id = ? AND "
                                  "removed_at IS NULL",
                                  {fingerprint, body_id}, [&](const Row&) {
                                    registered = true;
                                    return false;
                                  }));
  if (!registered)
    return permission_denied("the message's signer is not a certificate registered to body " + body_id + " [" +
                             std::string(kSignerNotRegistered) + "]");
  return Status::ok();
}

}  // namespace jlis::linkage
