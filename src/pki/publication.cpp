// Publication of revocation: the CRLs of both CAs and the OCSP responder's view of the register.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pki/ca.h"
#include "pki/ca_internal.h"

namespace jlis::pki {
namespace {

namespace fs = std::filesystem;
using store::Connection;
using store::Row;

constexpr CertificateKind kKinds[] = {CertificateKind::signature, CertificateKind::authentication};
constexpr int64_t kCrlPeriod = 86400;   // a new CRL daily
constexpr int64_t kCrlDebounce = 5;     // and a few seconds after revocations
constexpr int64_t kCrlRetry = 10;       // after a failed generation

fs::path crl_path(const std::string& dir, CertificateKind kind) {
  return fs::path(dir) / "pki" / "crl" / (std::string(kind_name(kind)) + ".crl");
}

// Big-endian bytes of a hex serial.
std::string serial_bytes(const std::string& hex) {
  std::string h = hex.size() % 2 ? "0" + hex : hex;
  std::string out(h.size() / 2, '\0');
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(nibble(h[2 * i]) << 4 | nibble(h[2 * i + 1]));
  return out;
}

// An exclusive flock on a lock file, released on destruction.
class CrlLock {
 public:
  Status acquire(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) return internal_error("cannot lock " + path.string());
    return Status::ok();
  }
  ~CrlLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_ = -1;
};

}  // namespace

Result<std::vector<std::pair<CertificateKind, int64_t>>> CertificateAuthority::generate_crls() {
  Impl& d = *impl_;
  JLIS_RETURN_IF_ERROR(load_keys());
  // One generation at a time across threads and processes (jlis ca crl beside jlis serve), so CRL
  // numbers and files always move forward together.
  CrlLock lock;
  JLIS_RETURN_IF_ERROR(lock.acquire(fs::path(d.dir) / "pki" / "crl" / ".lock"));
  std::vector<std::pair<CertificateKind, int64_t>> out;
  for (CertificateKind kind : kKinds) {
    const std::string ca(kind_name(kind));
    const int64_t now = d.now();
    std::vector<RevokedEntry> entries;
    int64_t newest_seq = 0, number = 1;
    {
      JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
      JLIS_ASSIGN_OR_RETURN(auto last, conn->query_int64("SELECT MAX(crl_number) FROM pki_crls WHERE ca = ?", {ca}));
      number = last.value_or(0) + 1;
      // The newest change of status it includes (a release of a hold too).
      JLIS_ASSIGN_OR_RETURN(auto seq, conn->query_int64("SELECT MAX(revocation_seq) FROM pki_certificates WHERE ca = ?", {ca}));
      newest_seq = seq.value_or(0);
      // Entries stay listed until the certificate expires (RFC 5280 §3.3); a released hold is gone.
      JLIS_RETURN_IF_ERROR(conn->query(
          "SELECT serial, revoked_at, reason FROM pki_certificates "
          "WHERE revoked_at IS NOT NULL AND ca = ? AND not_after >= ? AND revocation_seq <= ?",
          {ca, now, newest_seq}, [&](const Row& r) {
            entries.push_back({serial_bytes(r.text(0)), r.int64(1), static_cast<RevocationReason>(r.int64(2))});
            return true;
          }));
    }
    Impl::Authority& a = d.authority(kind);
    CrlParams params;
    params.issuer = a.cert.get();
    params.key = a.key.get();
    params.this_update = now;
    params.next_update = now + d.options.crl_validity.count();
    params.crl_number = number;
    JLIS_ASSIGN_OR_RETURN(std::string der, build_crl(params, entries));
    // The number is committed before the file is published (published = 0 until it is), so that
    // a crash or a failed write never publishes two CRLs with one number, nor a number that goes
    // back: a number whose CRL was never published is simply skipped.
    JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) {
      return conn.execute("INSERT INTO pki_crls (ca, crl_number, this_update, next_update, entries, revocation_seq, "
                          "published) VALUES (?, ?, ?, ?, ?, ?, 0)",
                          {ca, number, params.this_update, params.next_update, static_cast<int64_t>(entries.size()),
                           newest_seq}).status();
    }));
    const fs::path path = crl_path(d.dir, kind);
    const std::string tmp = path.string() + ".tmp";
    {
      std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
      file.write(der.data(), static_cast<std::streamsize>(der.size()));
      if (!file.flush()) return internal_error("cannot write " + tmp);
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) return internal_error("cannot write " + path.string());
    JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) {
      return conn.execute("UPDATE pki_crls SET published = 1 WHERE ca = ? AND crl_number = ?", {ca, number}).status();
    }));
    ++d.crls;
    out.emplace_back(kind, static_cast<int64_t>(entries.size()));
  }
  std::lock_guard tick_lock(d.tick_mu);
  d.last_crl_at = d.now();
  return out;
}

Result<std::string> CertificateAuthority::crl(CertificateKind kind) {
  const fs::path path = crl_path(impl_->dir, kind);
  std::error_code ec;
  if (!fs::exists(path, ec)) JLIS_RETURN_IF_ERROR(generate_crls().status());
  std::ifstream in(path, std::ios::binary);
  if (!in) return unavailable("the CRL cannot be read");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Result<OcspResponder*> CertificateAuthority::responder() {
  Impl& d = *impl_;
  JLIS_RETURN_IF_ERROR(load_keys());
  std::lock_guard lock(d.mu);
  if (!d.responder) {
    std::vector<OcspIssuer> issuers;
    for (CertificateKind kind : kKinds) {
      Impl::Authority& a = d.authority(kind);
      issuers.push_back({a.cert.get(), a.responder_cert.get(), a.responder_key.get()});
    }
    auto lookup = [&d](size_t issuer, const std::string& serial) -> Result<CertificateStatus> {
      JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
      CertificateStatus status;
      JLIS_RETURN_IF_ERROR(conn->query("SELECT ca, revoked_at, reason FROM pki_certificates WHERE serial = ?", {serial},
                                       [&](const Row& r) {
                                         if (r.text(0) != kind_name(kKinds[issuer])) return false;
                                         if (r.is_null(1)) {
                                           status.kind = CertificateStatus::Kind::good;
                                         } else {
                                           status.kind = CertificateStatus::Kind::revoked;
                                           status.revoked_at = r.int64(1);
                                           status.reason = static_cast<RevocationReason>(r.int64(2));
                                         }
                                         return false;
                                       }));
      return status;
    };
    OcspOptions options = d.options.ocsp;
    if (!options.clock) options.clock = d.options.clock;
    d.responder = std::make_unique<OcspResponder>(std::move(issuers), std::move(lookup), options);
    d.responder->start_refresher();
  }
  return d.responder.get();
}

Status CertificateAuthority::tick() {
  Impl& d = *impl_;
  std::unique_lock lock(d.tick_mu);
  std::vector<std::pair<size_t, std::string>> revoked;
  int64_t newest = d.seen_revocation_seq;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
    JLIS_RETURN_IF_ERROR(conn->query(
        "SELECT serial, ca, revocation_seq FROM pki_certificates WHERE revocation_seq > ? ORDER BY revocation_seq",
        {d.seen_revocation_seq}, [&](const Row& r) {
          revoked.emplace_back(r.text(1) == "signature" ? 0 : 1, r.text(0));
          newest = std::max(newest, r.int64(2));
          return true;
        }));
  }
  const bool revocations = newest > d.seen_revocation_seq;
  d.seen_revocation_seq = newest;
  const int64_t now = d.now();
  if (revocations) d.crl_pending = true;
  const bool crl_due = now >= d.crl_retry_at && (d.last_crl_at == 0 || now - d.last_crl_at >= kCrlPeriod ||
                                                 (d.crl_pending && now - d.last_crl_at >= kCrlDebounce));
  if (crl_due) d.crl_pending = false;
  lock.unlock();
  if (!revoked.empty()) {
    JLIS_ASSIGN_OR_RETURN(OcspResponder * responder, responder());
    for (const auto& [issuer, serial] : revoked) responder->refresh(issuer, serial);
  }
  if (crl_due) {
    Status s = generate_crls().status();
    if (!s.is_ok()) {
      // Still pending: retried by a later tick, well within a minute.
      std::lock_guard relock(d.tick_mu);
      d.crl_pending = true;
      d.crl_retry_at = d.now() + kCrlRetry;
      return s;
    }
  }
  return Status::ok();
}

}  // namespace jlis::pki
