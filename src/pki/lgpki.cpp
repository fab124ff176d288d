#include "pki/lgpki.h"

#include <ctime>

#include "common/clock.h"
#include "pki/lgpki_internal.h"
#include "pki/profile.h"
#include "store/migrations.h"

namespace jlis::pki {

using store::Connection;
using store::Row;

namespace {

constexpr int64_t kYear = 365 * 86400 + 21600;

const std::vector<store::Migration> kLgpkiMigrations = {
    {1, R"sql(
CREATE TABLE lgpki_authorities (
  name TEXT NOT NULL,                -- root | organisation | position | application
  generation BIGINT NOT NULL,        -- 1, 2, ...
  key_label TEXT NOT NULL,           -- in the KeyStore (keys.h)
  serial TEXT NOT NULL,              -- lower-case hex
  subject_key_id TEXT NOT NULL,      -- hex
  not_before BIGINT NOT NULL,        -- seconds since the epoch
  not_after BIGINT NOT NULL,
  certificate TEXT NOT NULL,         -- PEM
  link_from_previous TEXT,           -- root, from generation 2: the previous root key certifies this one (PEM)
  link_to_previous TEXT,             -- root, from generation 2: this key certifies the previous root's (PEM)
  revoked_at BIGINT,                 -- issuing CAs: listed in their generation's ARL
  reason BIGINT,                     -- RFC 5280 CRLReason
  created_at TEXT NOT NULL,
  PRIMARY KEY (name, generation)
);
CREATE TABLE lgpki_certificates (
  serial TEXT PRIMARY KEY,           -- 32 lower-case hex digits
  profile TEXT NOT NULL,             -- organisation | position | application-server | document-signing
  ca TEXT NOT NULL,                  -- the issuing CA: organisation | position | application
  generation BIGINT NOT NULL,        -- of the issuing CA
  municipality TEXT NOT NULL,        -- 6 digits
  subject TEXT NOT NULL,             -- RFC 2253, for people
  not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL,
  issued_at TEXT NOT NULL,
  revoked_at BIGINT,
  reason BIGINT,
  der TEXT NOT NULL                  -- base64
);
CREATE INDEX lgpki_certificates_crl ON lgpki_certificates (ca, generation, revoked_at);
CREATE INDEX lgpki_certificates_municipality ON lgpki_certificates (municipality);
CREATE TABLE lgpki_crls (
  name TEXT NOT NULL,                -- organisation, position-g2, ... (lgpki_crl_name); arl, arl-g2 (lgpki_arl_name)
  crl_number BIGINT NOT NULL,        -- increasing per name
  this_update BIGINT NOT NULL,
  next_update BIGINT NOT NULL,
  entries BIGINT NOT NULL,
  der TEXT NOT NULL,                 -- base64
  PRIMARY KEY (name, crl_number)
);
)sql"},
    {2, R"sql(
CREATE TABLE lgpki_applications (
  id TEXT PRIMARY KEY,               -- la- and 16 hex digits
  municipality TEXT NOT NULL,        -- the filing government's code
  profile TEXT NOT NULL,             -- organisation | position | application-server | document-signing
  subject TEXT NOT NULL,             -- JSON: the LgpkiSubject asked for
  request TEXT NOT NULL,             -- PKCS#10, PEM
  key_label TEXT,                    -- the key's label in the KeyStore when it was generated there
  state TEXT NOT NULL,               -- filed | reviewed | approved | issued | refused | revocation-requested | revoked
  revocation_reason BIGINT,          -- RFC 5280 CRLReason, once requested
  serial TEXT,                       -- once issued (lgpki_certificates)
  filed_at TEXT NOT NULL
);
CREATE INDEX lgpki_applications_municipality ON lgpki_applications (municipality);
CREATE INDEX lgpki_applications_serial ON lgpki_applications (serial);
CREATE TABLE lgpki_application_steps (
  seq {{id}},
  application TEXT NOT NULL,
  at TEXT NOT NULL,                  -- ISO 8601 UTC
  step TEXT NOT NULL,                -- filed, reviewed, review-refused, approved, approval-refused, issued, ...
  by_whom TEXT NOT NULL,             -- <role>:<subject>
  detail TEXT NOT NULL
);
CREATE INDEX lgpki_application_steps_application ON lgpki_application_steps (application, seq);
)sql"},
    {3, R"sql(
ALTER TABLE lgpki_certificates ADD COLUMN key_label TEXT;  -- in the KeyStore when the key was made there
UPDATE lgpki_certificates SET key_label =
  (SELECT a.key_label FROM lgpki_applications a WHERE a.serial = lgpki_certificates.serial);
)sql"}};

std::string key_id_hex(const ASN1_OCTET_STRING* id) {
  std::string out;
  if (id == nullptr) return out;
  static const char* digits = "0123456789ABCDEF";
  const unsigned char* p = ASN1_STRING_get0_data(id);
  for (int i = 0; i < ASN1_STRING_length(id); ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

// The row of one CA of a generation, for lgpki_authorities.
struct AuthorityRow {
  std::string name, label, serial, ski, pem;
  int64_t not_before = 0, not_after = 0;
  std::optional<std::string> link_from_previous, link_to_previous;
};

Result<AuthorityRow> row_of(std::string_view name, int generation, X509* cert) {
  AuthorityRow r;
  r.name = std::string(name);
  r.label = lgpki_key_label(name, generation);
  r.serial = serial_hex(X509_get0_serialNumber(cert));
  r.ski = key_id_hex(X509_get0_subject_key_id(cert));
  JLIS_ASSIGN_OR_RETURN(r.pem, x509_pem(cert));
  JLIS_ASSIGN_OR_RETURN(r.not_before, unix_seconds(X509_get0_notBefore(cert)));
  JLIS_ASSIGN_OR_RETURN(r.not_after, unix_seconds(X509_get0_notAfter(cert)));
  return r;
}

Result<std::optional<std::string>> optional_pem(X509* cert) {
  if (cert == nullptr) return std::optional<std::string>{};
  JLIS_ASSIGN_OR_RETURN(std::string pem, x509_pem(cert));
  return std::optional<std::string>(std::move(pem));
}

store::Value nullable(const std::optional<std::string>& v) {
  return v ? store::Value(*v) : store::Value(nullptr);
}

}  // namespace

std::string lgpki_key_label(std::string_view ca, int generation) {
  return "lgpki-" + std::string(ca) + "-g" + std::to_string(generation);
}

int64_t LgpkiAuthority::Impl::now() const {
  return options.clock ? options.clock() : static_cast<int64_t>(std::time(nullptr));
}

Status LgpkiAuthority::migrate(Connection& conn) { return store::migrate(conn, "lgpki", kLgpkiMigrations); }

LgpkiAuthority::LgpkiAuthority(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LgpkiAuthority::~LgpkiAuthority() = default;

Result<std::unique_ptr<LgpkiAuthority>> LgpkiAuthority::open(store::Pool& pool, store::Writer& writer, KeyStore& keys,
                                                             LgpkiOptions options) {
  auto impl = std::make_unique<Impl>(pool, writer, keys, std::move(options));
  struct Stored {
    std::string name;
    int generation;
    std::string label, pem;
    std::optional<std::string> link_from, link_to;
  };
  std::vector<Stored> rows;
  JLIS_ASSIGN_OR_RETURN(auto conn, pool.acquire());
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT name, generation, key_label, certificate, link_from_previous, link_to_previous FROM lgpki_authorities "
      "ORDER BY generation, name",
      {}, [&](const Row& r) {
        rows.push_back({r.text(0), static_cast<int>(r.int64(1)), r.text(2), r.text(3), r.optional_text(4),
                        r.optional_text(5)});
        return true;
      }));
  for (const Stored& s : rows) {
    if (s.generation != static_cast<int>(impl->generations.size()) &&
        s.generation != static_cast<int>(impl->generations.size()) + 1)
      return internal_error("lgpki_authorities skips a generation");
    if (s.generation == static_cast<int>(impl->generations.size()) + 1) {
      impl->generations.push_back(std::make_unique<Impl::Generation>());
      impl->generations.back()->number = s.generation;
    }
    Impl::Generation& g = *impl->generations.back();
    Impl::Ca* ca = nullptr;
    if (s.name == "root") {
      ca = &g.root;
      if (s.link_from) {
        JLIS_ASSIGN_OR_RETURN(g.link_from_previous, x509_from_pem(*s.link_from));
      }
      if (s.link_to) {
        JLIS_ASSIGN_OR_RETURN(g.link_to_previous, x509_from_pem(*s.link_to));
      }
    } else {
      JLIS_ASSIGN_OR_RETURN(LgpkiCa which, parse_lgpki_ca(s.name));
      ca = &g.issuing[static_cast<size_t>(which)];
    }
    JLIS_ASSIGN_OR_RETURN(ca->cert, x509_from_pem(s.pem));
    ca->label = s.label;
  }
  for (const auto& g : impl->generations) {
    bool whole = g->root.cert != nullptr;
    for (const auto& ca : g->issuing) whole = whole && ca.cert != nullptr;
    if (!whole) return internal_error("LGPKI generation " + std::to_string(g->number) + " is incomplete in the store");
  }
  return std::unique_ptr<LgpkiAuthority>(new LgpkiAuthority(std::move(impl)));
}

bool LgpkiAuthority::exists() const { return generation() > 0; }

int LgpkiAuthority::generation() const {
  std::lock_guard lock(impl_->mu);
  return static_cast<int>(impl_->generations.size());
}

Status LgpkiAuthority::init() {
  if (exists()) return conflict("the LGPKI hierarchy exists already");
  return new_generation().status();
}

Result<int> LgpkiAuthority::new_generation() {
  Impl& d = *impl_;
  const int64_t now = d.now();
  auto g = std::make_unique<Impl::Generation>();
  std::vector<AuthorityRow> rows;
  {
    std::lock_guard lock(d.mu);
    Impl::Generation* previous = d.generations.empty() ? nullptr : d.generations.back().get();
    g->number = previous ? previous->number + 1 : 1;
    const int n = g->number;
    g->root.label = lgpki_key_label("root", n);
    JLIS_ASSIGN_OR_RETURN(g->root.key, d.keys.generate(g->root.label));
    JLIS_ASSIGN_OR_RETURN(g->root.cert, make_lgpki_root({g->root.key.get(), now, now + 20 * kYear}));
    JLIS_ASSIGN_OR_RETURN(AuthorityRow root, row_of("root", n, g->root.cert.get()));
    if (previous != nullptr) {
      // Each link certificate is valid as long as the previous root.
      JLIS_ASSIGN_OR_RETURN(const int64_t until, unix_seconds(X509_get0_notAfter(previous->root.cert.get())));
      JLIS_ASSIGN_OR_RETURN(EVP_PKEY * previous_key, d.key_of(previous->root));
      JLIS_ASSIGN_OR_RETURN(g->link_from_previous,
                            make_link_certificate({previous->root.cert.get(), previous_key,
                                                   g->root.cert.get(), now, until}));
      JLIS_ASSIGN_OR_RETURN(g->link_to_previous, make_link_certificate({g->root.cert.get(), g->root.key.get(),
                                                                        previous->root.cert.get(), now, until}));
      JLIS_ASSIGN_OR_RETURN(root.link_from_previous, optional_pem(g->link_from_previous.get()));
      JLIS_ASSIGN_OR_RETURN(root.link_to_previous, optional_pem(g->link_to_previous.get()));
    }
    rows.push_back(std::move(root));
    for (LgpkiCa which : kLgpkiCas) {
      Impl::Ca& ca = g->issuing[static_cast<size_t>(which)];
      const std::string_view name = lgpki_ca_name(which);
      ca.label = lgpki_key_label(name, n);
      JLIS_ASSIGN_OR_RETURN(ca.key, d.keys.generate(ca.label));
      LgpkiIssuingCaParams p;
      p.ca = which;
      p.root = g->root.cert.get();
      p.root_key = g->root.key.get();
      p.root_generation = n;
      p.public_key = ca.key.get();
      p.not_before = now;
      p.not_after = now + 10 * kYear;
      p.public_url = d.options.public_url;
      JLIS_ASSIGN_OR_RETURN(ca.cert, make_lgpki_issuing_ca(p));
      JLIS_ASSIGN_OR_RETURN(AuthorityRow row, row_of(name, n, ca.cert.get()));
      rows.push_back(std::move(row));
    }
  }
  const int n = g->number;
  const std::string created_at = iso8601_seconds(now);
  JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) -> Status {
    for (const AuthorityRow& r : rows)
      JLIS_RETURN_IF_ERROR(conn.execute(
                                   "INSERT INTO lgpki_authorities (name, generation, key_label, serial, subject_key_id, "
                                   "not_before, not_after, certificate, link_from_previous, link_to_previous, "
                                   "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   {r.name, static_cast<int64_t>(n), r.label, r.serial, r.ski, r.not_before,
                                    r.not_after, r.pem, nullable(r.link_from_previous), nullable(r.link_to_previous),
                                    created_at})
                               .status());
    return Status::ok();
  }));
  std::lock_guard lock(d.mu);
  if (static_cast<int>(d.generations.size()) + 1 != n)
    return conflict("another LGPKI generation was made at the same time");
  d.generations.push_back(std::move(g));
  // The next OCSP request makes a responder that serves the new issuing CAs too; requests being
  // answered keep the old one until they are done.
  d.ocsp.reset();
  return n;
}

Result<std::vector<LgpkiCaCertificate>> LgpkiAuthority::ca_certificates() {
  Impl& d = *impl_;
  std::vector<LgpkiCaCertificate> out;
  {
    std::lock_guard lock(d.mu);
    for (const auto& g : d.generations) {
      const int n = g->number;
      auto add = [&](std::string name, X509* cert) -> Status {
        if (cert == nullptr) return Status::ok();
        JLIS_ASSIGN_OR_RETURN(std::string pem, x509_pem(cert));
        out.push_back({std::move(name), n, std::move(pem)});
        return Status::ok();
      };
      JLIS_RETURN_IF_ERROR(add(lgpki_root_name(n), g->root.cert.get()));
      const std::string link = "root-link-" + std::to_string(n - 1) + "-" + std::to_string(n);
      JLIS_RETURN_IF_ERROR(add(link, g->link_from_previous.get()));
      JLIS_RETURN_IF_ERROR(add("root-link-" + std::to_string(n) + "-" + std::to_string(n - 1), g->link_to_previous.get()));
      for (LgpkiCa which : kLgpkiCas)
        JLIS_RETURN_IF_ERROR(add(lgpki_crl_name(which, n), g->issuing[static_cast<size_t>(which)].cert.get()));
    }
  }
  JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
  for (LgpkiCaCertificate& c : out) {
    if (c.name.rfind("root", 0) == 0) continue;
    const std::string name = c.name.substr(0, c.name.find('-'));
    JLIS_RETURN_IF_ERROR(conn->query("SELECT revoked_at, reason FROM lgpki_authorities WHERE name = ? AND generation = ?",
                                     {name, static_cast<int64_t>(c.generation)}, [&](const Row& r) {
                                       if (!r.is_null(0)) {
                                         c.revoked_at = r.int64(0);
                                         c.reason = static_cast<RevocationReason>(r.int64(1));
                                       }
                                       return false;
                                     }));
  }
  return out;
}

}  // namespace jlis::pki
