// LGPKI's OCSP responder (lgpki.h: ocsp_responder, tick): the issuing CAs of every generation,
// each signing for itself, over the register lgpki_certificates.
//
// The responder's issuers are numbered generation by generation, in kLgpkiCas order: issuer i is
// CA kLgpkiCas[i % 3] of generation i / 3 + 1, so a revocation finds its issuer without a table.
#include <algorithm>

#include "pki/lgpki.h"
#include "pki/lgpki_internal.h"

namespace jlis::pki {

using store::Row;

namespace {

size_t issuer_index(LgpkiCa ca, int generation) {
  return static_cast<size_t>(generation - 1) * kLgpkiCas.size() + static_cast<size_t>(ca);
}

// The responder's form of a serial: lower-case hex without leading zeros.
std::string without_leading_zeros(const std::string& serial) {
  const size_t first = serial.find_first_not_of('0');
  return first == std::string::npos ? "0" : serial.substr(first);
}

}  // namespace

Result<std::shared_ptr<OcspResponder>> LgpkiAuthority::ocsp_responder() {
  Impl& d = *impl_;
  std::lock_guard lock(d.mu);
  if (d.ocsp) return d.ocsp;
  if (d.generations.empty()) return conflict("the LGPKI hierarchy does not exist yet");
  std::vector<OcspIssuer> issuers;
  for (const auto& g : d.generations) {
    for (LgpkiCa which : kLgpkiCas) {
      const size_t i = static_cast<size_t>(which);
      if (!g->ocsp_keys[i]) {
        JLIS_ASSIGN_OR_RETURN(g->ocsp_keys[i], d.keys.load(lgpki_key_label(lgpki_ca_name(which), g->number)));
      }
      // The CA answers for itself: it is the responder, and its certificate goes in the response.
      issuers.push_back({g->issuing[i].cert.get(), g->issuing[i].cert.get(), g->ocsp_keys[i].get()});
    }
  }
  // Answers only for a certificate of that issuer: a serial of another CA or generation (or none
  // of ours) is unknown, which the responder answers `unauthorized`.
  auto lookup = [&d](size_t issuer, const std::string& serial_hex) -> Result<CertificateStatus> {
    CertificateStatus status;
    if (serial_hex.empty() || serial_hex.size() > 32) return status;
    const std::string serial = std::string(32 - serial_hex.size(), '0') + serial_hex;
    const std::string ca(lgpki_ca_name(kLgpkiCas[issuer % kLgpkiCas.size()]));
    const int64_t generation = static_cast<int64_t>(issuer / kLgpkiCas.size()) + 1;
    JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
    constexpr const char* kQuery = "SELECT ca, generation, revoked_at, reason FROM lgpki_certificates WHERE serial = ?";
    JLIS_RETURN_IF_ERROR(conn->query(kQuery, {serial}, [&](const Row& r) {
      if (r.text(0) != ca || r.int64(1) != generation) return false;
      if (r.is_null(2)) {
        status.kind = CertificateStatus::Kind::good;
      } else {
        status.kind = CertificateStatus::Kind::revoked;
        status.revoked_at = r.int64(2);
        status.reason = static_cast<RevocationReason>(r.int64(3));
      }
      return false;
    }));
    return status;
  };
  OcspOptions options = d.options.ocsp;
  if (!options.clock) options.clock = d.options.clock;
  d.ocsp = std::make_shared<OcspResponder>(std::move(issuers), std::move(lookup), options);
  d.ocsp->start_refresher();
  return d.ocsp;
}

std::shared_ptr<OcspResponder> LgpkiAuthority::ocsp_responder_made() const {
  std::lock_guard lock(impl_->mu);
  return impl_->ocsp;
}

void refresh_lgpki_ocsp(LgpkiAuthority::Impl& d, LgpkiCa ca, int generation, const std::string& serial) {
  std::shared_ptr<OcspResponder> responder;
  {
    std::lock_guard lock(d.mu);
    responder = d.ocsp;
  }
  // None yet: the first request looks the status up. A generation newer than the responder's
  // cannot be among its issuers: new_generation reset it.
  if (responder) responder->refresh(issuer_index(ca, generation), without_leading_zeros(serial));
}

Status LgpkiAuthority::tick() {
  Impl& d = *impl_;
  std::lock_guard tick_lock(d.tick_mu);
  int generations = 0;
  bool responder = false;
  {
    std::lock_guard lock(d.mu);
    generations = static_cast<int>(d.generations.size());
    responder = d.ocsp != nullptr;
  }
  if (d.ticked_at < 0) d.ticked_at = d.now();
  // Nothing cached: a response signed later looks the status up after this revocation.
  if (!responder) return Status::ok();
  // revoked_at is taken before the revocation waits for the writer: one committed now may be dated
  // up to kTickSlack seconds before the newest seen, so that window is read again every time.
  const int64_t since = d.ticked_at - LgpkiAuthority::Impl::kTickSlack;
  std::vector<std::pair<std::string, int64_t>> revoked;  // serial, revoked_at
  std::vector<std::pair<LgpkiCa, int>> of;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
    // By CA and generation, so that the index lgpki_certificates_crl serves each query.
    for (int n = 1; n <= generations; ++n) {
      for (LgpkiCa which : kLgpkiCas) {
        JLIS_RETURN_IF_ERROR(conn->query(
            "SELECT serial, revoked_at FROM lgpki_certificates WHERE ca = ? AND generation = ? AND revoked_at >= ?",
            {std::string(lgpki_ca_name(which)), static_cast<int64_t>(n), since}, [&](const Row& r) {
              revoked.emplace_back(r.text(0), r.int64(1));
              of.emplace_back(which, n);
              return true;
            }));
      }
    }
  }
  for (size_t i = 0; i < revoked.size(); ++i) {
    const auto& [serial, at] = revoked[i];
    d.ticked_at = std::max(d.ticked_at, at);
    if (d.ticked.emplace(serial, at).second) refresh_lgpki_ocsp(d, of[i].first, of[i].second, serial);
  }
  std::erase_if(d.ticked, [&](const auto& e) { return e.second < d.ticked_at - LgpkiAuthority::Impl::kTickSlack; });
  return Status::ok();
}

}  // namespace jlis::pki
