// LGPKI CRLs and ARLs (lgpki.h): built with crl.h's build_crl (the lists are small: an LGPKI CA
// certifies local governments' organisations, positions and servers, not residents).
#include "pki/ca_internal.h"
#include "pki/lgpki.h"
#include "pki/lgpki_internal.h"

namespace jlis::pki {

using store::Connection;
using store::Row;

namespace {

// not_found unless LGPKI has `generation`.
Status has_generation(LgpkiAuthority::Impl& d, int generation) {
  std::lock_guard lock(d.mu);
  if (d.generation(generation) == nullptr) return not_found("LGPKI has no generation " + std::to_string(generation));
  return Status::ok();
}

// Signs and records the next CRL named `name` in the writer's transaction: `entries` are read by
// `read` there, the signer is found by `signer` under the CA's mutex.
Result<std::string> make_list(LgpkiAuthority::Impl& d, const std::string& name,
                              const std::function<Status(Connection&, std::vector<RevokedEntry>&)>& read,
                              const std::function<LgpkiAuthority::Impl::Ca*()>& signer) {
  const int64_t now = d.now();
  std::string der;
  JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) -> Status {
    std::vector<RevokedEntry> entries;
    JLIS_RETURN_IF_ERROR(read(conn, entries));
    JLIS_ASSIGN_OR_RETURN(auto last, conn.query_int64("SELECT MAX(crl_number) FROM lgpki_crls WHERE name = ?", {name}));
    const int64_t number = last.value_or(0) + 1;
    {
      std::lock_guard lock(d.mu);
      LgpkiAuthority::Impl::Ca* ca = signer();
      if (ca == nullptr) return not_found("LGPKI has no CA for the CRL " + name);
      CrlParams params;
      params.issuer = ca->cert.get();
      JLIS_ASSIGN_OR_RETURN(params.key, d.key_of(*ca));
      params.this_update = now;
      params.next_update = now + d.options.crl_validity.count();
      params.crl_number = number;
      JLIS_ASSIGN_OR_RETURN(der, build_crl(params, entries));
    }
    return conn.execute("INSERT INTO lgpki_crls (name, crl_number, this_update, next_update, entries, der) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        {name, number, now, now + d.options.crl_validity.count(),
                         static_cast<int64_t>(entries.size()), base64_encode(der)})
        .status();
  }));
  return der;
}

}  // namespace

Result<std::string> LgpkiAuthority::make_crl(LgpkiCa ca, int generation) {
  Impl& d = *impl_;
  JLIS_RETURN_IF_ERROR(has_generation(d, generation));
  const int64_t now = d.now();
  return make_list(
      d, lgpki_crl_name(ca, generation),
      [&](Connection& conn, std::vector<RevokedEntry>& entries) {
        return conn.query("SELECT serial, revoked_at, reason FROM lgpki_certificates WHERE ca = ? AND generation = ? "
                          "AND revoked_at IS NOT NULL AND not_after >= ? ORDER BY serial",
                          {std::string(lgpki_ca_name(ca)), static_cast<int64_t>(generation), now}, [&](const Row& r) {
                            entries.push_back({serial_bytes(r.text(0)), r.int64(1),
                                               static_cast<RevocationReason>(r.int64(2))});
                            return true;
                          });
      },
      [&]() -> Impl::Ca* {
        Impl::Generation* g = d.generation(generation);
        return g ? &g->issuing[static_cast<size_t>(ca)] : nullptr;
      });
}

Result<std::string> LgpkiAuthority::make_arl(int generation) {
  Impl& d = *impl_;
  JLIS_RETURN_IF_ERROR(has_generation(d, generation));
  const int64_t now = d.now();
  return make_list(
      d, lgpki_arl_name(generation),
      [&](Connection& conn, std::vector<RevokedEntry>& entries) {
        return conn.query("SELECT serial, revoked_at, reason FROM lgpki_authorities WHERE generation = ? "
                          "AND name <> 'root' AND revoked_at IS NOT NULL AND not_after >= ? ORDER BY serial",
                          {static_cast<int64_t>(generation), now}, [&](const Row& r) {
                            entries.push_back({serial_bytes(r.text(0)), r.int64(1),
                                               static_cast<RevocationReason>(r.int64(2))});
                            return true;
                          });
      },
      [&]() -> Impl::Ca* {
        Impl::Generation* g = d.generation(generation);
        return g ? &g->root : nullptr;
      });
}

Result<std::string> LgpkiAuthority::published_crl(std::string_view name) {
  Impl& d = *impl_;
  // Which list: an issuing CA's CRL of a generation, or a generation's ARL.
  std::optional<std::pair<std::optional<LgpkiCa>, int>> which;
  {
    std::lock_guard lock(d.mu);
    for (const auto& g : d.generations) {
      if (lgpki_arl_name(g->number) == name) which = {std::nullopt, g->number};
      for (LgpkiCa ca : kLgpkiCas)
        if (lgpki_crl_name(ca, g->number) == name) which = {ca, g->number};
    }
  }
  if (!which) return not_found("no LGPKI CRL is named " + std::string(name));
  const auto [ca, generation] = *which;
  std::lock_guard publishing(d.publish_mu);
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
    std::optional<std::pair<int64_t, int64_t>> times;  // this_update, next_update
    std::string der;
    JLIS_RETURN_IF_ERROR(conn->query("SELECT this_update, next_update, der FROM lgpki_crls WHERE name = ? "
                                     "ORDER BY crl_number DESC LIMIT 1",
                                     {std::string(name)}, [&](const Row& r) {
                                       times = {r.int64(0), r.int64(1)};
                                       der = r.text(2);
                                       return false;
                                     }));
    if (times) {
      std::optional<int64_t> last_revocation;
      if (ca) {
        JLIS_ASSIGN_OR_RETURN(last_revocation,
                              conn->query_int64("SELECT MAX(revoked_at) FROM lgpki_certificates WHERE ca = ? AND "
                                                "generation = ?",
                                                {std::string(lgpki_ca_name(*ca)), static_cast<int64_t>(generation)}));
      } else {
        JLIS_ASSIGN_OR_RETURN(last_revocation,
                              conn->query_int64("SELECT MAX(revoked_at) FROM lgpki_authorities WHERE generation = ?",
                                                {static_cast<int64_t>(generation)}));
      }
      const int64_t now = d.now();
      const bool fresh = now < times->first + (times->second - times->first) / 2;
      if (fresh && !(last_revocation && *last_revocation >= times->first)) return base64_decode(der);
    }
  }
  return ca ? make_crl(*ca, generation) : make_arl(generation);
}

Result<std::string> LgpkiAuthority::ca_certificate_der(std::string_view name) {
  JLIS_ASSIGN_OR_RETURN(auto list, ca_certificates());
  for (const auto& c : list)
    if (c.name == name) {
      JLIS_ASSIGN_OR_RETURN(X509Ptr cert, x509_from_pem(c.pem));
      return x509_der(cert.get());
    }
  return not_found("no LGPKI CA certificate is named " + std::string(name));
}

}  // namespace jlis::pki
