// Publication of revocation: the CRLs of both CAs and the OCSP responder's view of the register.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include <openssl/asn1.h>

#include "pki/ca.h"
#include "pki/ca_internal.h"

namespace jlis::pki {
namespace {

namespace fs = std::filesystem;
using store::Connection;
using store::Row;

constexpr int64_t kCrlPeriod = 86400;   // a new CRL daily
constexpr int64_t kCrlDebounce = 5;     // and a few seconds after revocations
constexpr int64_t kCrlRetry = 10;       // after a failed generation

// The CRLs of one CA generation, by its crl_name (ca_internal.h).
fs::path crl_path(const std::string& dir, const std::string& name, bool delta = false) {
  return fs::path(dir) / "pki" / "crl" / (name + (delta ? "-delta.crl" : ".crl"));
}

// A signature CA generation's partition of one municipality (profile.h).
fs::path partition_path(const std::string& dir, const std::string& name, const std::string& code) {
  return fs::path(dir) / "pki" / "crl" / name / (code + ".crl");
}

// Appends the bytes of canonical base64 (as base64_encode writes it) to `out`, with no copy in
// between: a CRL decodes a million stored entries.
bool append_base64(std::string& out, std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return false;
  const size_t at = out.size();
  out.resize(at + text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data() + at),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) != text.size() / 4 * 3) return false;
  size_t pad = 0;
  for (size_t i = text.size(); i > 0 && pad < 2 && text[i - 1] == '='; --i) ++pad;
  out.resize(out.size() - pad);
  return true;
}

// The entries of one CRL, read from the rows: their DER concatenated in serial order.
struct CrlEntries {
  std::string der;
  size_t count = 0;
  // The serial (content octets, an offset into der) of the last entry read, for the order check.
  size_t last_serial_at = 0, last_serial_len = 0;
  bool sorted = true;
  std::vector<std::pair<std::string, std::string>> computed;  // (serial, base64 entry) to store
};

// One entry in `der`: its bytes and its serial's content octets.
struct EntrySpan {
  size_t offset, length, serial_at, serial_len;
};

// Reads the entry at `offset` of `der` with OpenSSL's ASN1_get_object: a SEQUENCE whose first
// element is an INTEGER. A stored entry that is not is refused.
Result<EntrySpan> read_span(std::string_view der, size_t offset) {
  const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = begin + offset;
  long len = 0, serial_len = 0;
  int tag = 0, cls = 0;
  if ((ASN1_get_object(&p, &len, &tag, &cls, static_cast<long>(der.size() - offset)) & 0x80) != 0 ||
      tag != V_ASN1_SEQUENCE)
    return internal_error("a stored CRL entry is not DER");
  const size_t length = static_cast<size_t>(p + len - (begin + offset));
  if ((ASN1_get_object(&p, &serial_len, &tag, &cls, len) & 0x80) != 0 || tag != V_ASN1_INTEGER || serial_len <= 0)
    return internal_error("a stored CRL entry has no serial number");
  return EntrySpan{offset, length, static_cast<size_t>(p - begin), static_cast<size_t>(serial_len)};
}

// Checks the entry just appended at `offset`: one whole entry, and after the previous one in
// serial order (else the entries are sorted once all are read).
Status add_span(CrlEntries& e, size_t offset) {
  JLIS_ASSIGN_OR_RETURN(EntrySpan span, read_span(e.der, offset));
  if (span.offset + span.length != e.der.size()) return internal_error("a stored CRL entry is not one DER value");
  const std::string_view der(e.der);
  if (e.count > 0 && !serial_less(der.substr(e.last_serial_at, e.last_serial_len), der.substr(span.serial_at, span.serial_len)))
    e.sorted = false;
  e.last_serial_at = span.serial_at;
  e.last_serial_len = span.serial_len;
  ++e.count;
  return Status::ok();
}

// Appends one row's entry: its stored DER, or (a row changed before entries were stored) one
// encoded now from its columns, kept in `computed` to be stored.
// The row's columns are serial, revoked_at, reason, crl_entry from column `c` on.
Status add_entry(CrlEntries& e, const Row& r, int64_t now, int c = 0) {
  const size_t offset = e.der.size();
  if (!r.is_null(c + 3)) {
    if (!append_base64(e.der, r.text(c + 3))) return internal_error("a stored CRL entry is not base64");
  } else {
    const bool released = r.is_null(c + 1);
    RevokedEntry entry{serial_bytes(r.text(c)), released ? now : r.int64(c + 1),
                       released ? RevocationReason::remove_from_crl : static_cast<RevocationReason>(r.int64(c + 2))};
    JLIS_ASSIGN_OR_RETURN(std::string der, encode_crl_entry(entry));
    e.der += der;
    if (!released) e.computed.emplace_back(r.text(c), base64_encode(der));
  }
  return add_span(e, offset);
}

// Puts the entries in serial order when the store did not answer them so (serials of unequal
// length: the rows' serials are all 32 hex digits, whose text order is their numeric order).
Status sort_entries(CrlEntries& e) {
  if (e.sorted) return Status::ok();
  const std::string_view der(e.der);
  std::vector<EntrySpan> spans;
  spans.reserve(e.count);
  for (size_t offset = 0; offset < der.size();) {
    JLIS_ASSIGN_OR_RETURN(EntrySpan span, read_span(der, offset));
    spans.push_back(span);
    offset += span.length;
  }
  auto serial = [&](const EntrySpan& s) { return der.substr(s.serial_at, s.serial_len); };
  std::sort(spans.begin(), spans.end(), [&](const auto& a, const auto& b) { return serial_less(serial(a), serial(b)); });
  std::string out;
  out.reserve(e.der.size());
  for (const auto& s : spans) out.append(der.substr(s.offset, s.length));
  e.der = std::move(out);
  e.sorted = true;
  return Status::ok();
}

// Reads a CRL's rows (serial, revoked_at, reason, crl_entry) in serial order.
Result<CrlEntries> read_entries(Connection& conn, const std::string& where, const store::Params& params, int64_t now) {
  CrlEntries e;
  // Sized once (an entry is at most 64 bytes; pages not written are never resident), so the
  // buffer is not copied as it grows.
  JLIS_ASSIGN_OR_RETURN(auto rows, conn.query_int64("SELECT COUNT(*) FROM pki_certificates WHERE " + where, params));
  e.der.reserve(static_cast<size_t>(std::max<int64_t>(rows.value_or(0), 0)) * 64);
  Status failed = Status::ok();
  JLIS_RETURN_IF_ERROR(conn.query("SELECT serial, revoked_at, reason, crl_entry FROM pki_certificates WHERE " + where +
                                      " ORDER BY ca, generation, serial",
                                  params, [&](const Row& r) {
                                    failed = add_entry(e, r, now);
                                    return failed.is_ok();
                                  }));
  JLIS_RETURN_IF_ERROR(failed);
  JLIS_RETURN_IF_ERROR(sort_entries(e));
  return e;
}

// The entries of the partitions, by municipality, listing the changes of status up to
// `newest_seq` of the unexpired certificates. `only` null: every partition, in one reading of the
// rows in (municipality, serial) order; else those municipalities alone, each its own range of
// the index pki_certificates_partition. Either way the rows come from that index alone.
Result<std::map<std::string, CrlEntries>> read_partition_entries(Connection& conn, int generation,
                                                                 const std::vector<std::string>* only,
                                                                 int64_t newest_seq, int64_t now) {
  std::map<std::string, CrlEntries> out;
  const std::string select = "SELECT municipality, serial, revoked_at, reason, crl_entry FROM pki_certificates WHERE "
                             "ca = 'signature' AND generation = ? AND ";
  const std::string rest = " AND revocation_seq IS NOT NULL AND +revocation_seq <= ? AND revoked_at IS NOT NULL AND "
                           "not_after >= ? ORDER BY ca, generation, municipality, serial";
  Status failed = Status::ok();
  auto add = [&](const Row& r) {
    failed = add_entry(out[r.text(0)], r, now, 1);
    return failed.is_ok();
  };
  if (only == nullptr) {
    JLIS_RETURN_IF_ERROR(
        conn.query(select + "municipality IS NOT NULL" + rest, {static_cast<int64_t>(generation), newest_seq, now}, add));
  } else {
    for (const std::string& code : *only) {
      JLIS_RETURN_IF_ERROR(
          conn.query(select + "municipality = ?" + rest, {static_cast<int64_t>(generation), code, newest_seq, now}, add));
      JLIS_RETURN_IF_ERROR(failed);
    }
  }
  JLIS_RETURN_IF_ERROR(failed);
  for (auto& [code, entries] : out) JLIS_RETURN_IF_ERROR(sort_entries(entries));
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

// The CRL number after the newest of `ca` (full and delta CRLs share one sequence).
Result<int64_t> next_crl_number(Connection& conn, const std::string& ca) {
  JLIS_ASSIGN_OR_RETURN(auto last, conn.query_int64("SELECT MAX(crl_number) FROM pki_crls WHERE ca = ?", {ca}));
  return last.value_or(0) + 1;
}

// A delta CRL's base: the newest published full CRL at least a day old, or else the oldest one
// (crl_number, revocation_seq).
Result<std::pair<int64_t, int64_t>> delta_base(Connection& conn, const std::string& ca, int64_t now) {
  std::optional<std::pair<int64_t, int64_t>> base;
  auto take = [&](const Row& r) {
    base.emplace(r.int64(0), r.int64(1));
    return false;
  };
  const std::string full = "SELECT crl_number, revocation_seq FROM pki_crls WHERE ca = ? AND published = 1 AND "
                           "delta_base IS NULL ";
  JLIS_RETURN_IF_ERROR(
      conn.query(full + "AND this_update <= ? ORDER BY crl_number DESC LIMIT 1", {ca, now - kCrlPeriod}, take));
  if (!base) JLIS_RETURN_IF_ERROR(conn.query(full + "ORDER BY crl_number LIMIT 1", {ca}, take));
  if (!base) return internal_error("a delta CRL has no published full CRL to refer to");
  return *base;
}

// Stores the entries encoded for rows that had none (revoked before entries were stored); a row
// that changed meanwhile has its own already.
Status store_computed_entries(store::Writer& writer, const CrlEntries& entries) {
  if (entries.computed.empty()) return Status::ok();
  return writer.run([&](Connection& conn) {
    for (const auto& [serial, entry] : entries.computed) {
      JLIS_RETURN_IF_ERROR(conn.execute("UPDATE pki_certificates SET crl_entry = ? WHERE serial = ? AND crl_entry IS NULL",
                                        {entry, serial}).status());
    }
    return Status::ok();
  });
}

Status write_file_atomically(const fs::path& path, std::string_view der) {
  const std::string tmp = path.string() + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    file.write(der.data(), static_cast<std::streamsize>(der.size()));
    if (!file.flush()) return internal_error("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return internal_error("cannot write " + path.string());
  return Status::ok();
}

// Signs and publishes one CRL (full, or delta when params.delta_base is set). The number is
// committed before the file is published (published = 0 until it is), so that a crash or a failed
// write never publishes two CRLs with one number, nor a number that goes back: a number whose CRL
// was never published is simply skipped.
Status publish_crl(store::Writer& writer, const fs::path& path, const std::string& ca, const CrlParams& params,
                   const CrlEntries& entries, int64_t newest_seq) {
  JLIS_ASSIGN_OR_RETURN(std::string der, assemble_crl(params, entries.der));
  const store::Value base = params.delta_base ? store::Value(*params.delta_base) : store::Value();
  JLIS_RETURN_IF_ERROR(writer.run([&](Connection& conn) {
    return conn.execute("INSERT INTO pki_crls (ca, crl_number, this_update, next_update, entries, revocation_seq, "
                        "published, delta_base) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
                        {ca, params.crl_number, params.this_update, params.next_update,
                         static_cast<int64_t>(entries.count), newest_seq, base}).status();
  }));
  JLIS_RETURN_IF_ERROR(write_file_atomically(path, der));
  return writer.run([&](Connection& conn) {
    return conn.execute("UPDATE pki_crls SET published = 1 WHERE ca = ? AND crl_number = ?", {ca, params.crl_number})
        .status();
  });
}

// One partition CRL, signed, to publish.
struct SignedPartition {
  std::string code;
  int64_t crl_number = 0, this_update = 0, next_update = 0, entries = 0;
  std::string der;
};

// Publishes partition CRLs as publish_crl does one CRL (numbers committed unpublished, files
// written, then marked published), with one transaction for all the numbers and one for all the
// flags: a daily run publishes every partition.
Status publish_partitions(store::Writer& writer, const std::string& dir, const std::string& name,
                          const std::vector<SignedPartition>& crls, int64_t newest_seq) {
  if (crls.empty()) return Status::ok();
  JLIS_RETURN_IF_ERROR(writer.run([&](Connection& conn) {
    for (const auto& c : crls) {
      JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO pki_crl_partitions (ca, municipality, crl_number, this_update, "
                                        "next_update, entries, revocation_seq, published) VALUES (?, ?, ?, ?, "
                                        "?, ?, ?, 0)",
                                        {name, c.code, c.crl_number, c.this_update, c.next_update, c.entries, newest_seq})
                               .status());
    }
    return Status::ok();
  }));
  std::error_code ec;
  fs::create_directories(partition_path(dir, name, "x").parent_path(), ec);
  if (ec) return internal_error("cannot create " + partition_path(dir, name, "x").parent_path().string());
  for (const auto& c : crls) JLIS_RETURN_IF_ERROR(write_file_atomically(partition_path(dir, name, c.code), c.der));
  return writer.run([&](Connection& conn) {
    for (const auto& c : crls) {
      JLIS_RETURN_IF_ERROR(conn.execute("UPDATE pki_crl_partitions SET published = 1 WHERE ca = ? AND "
                                        "municipality = ? AND crl_number = ?",
                                        {name, c.code, c.crl_number})
                               .status());
    }
    return Status::ok();
  });
}

}  // namespace

std::string serial_bytes(std::string_view hex) {
  std::string h = hex.size() % 2 ? "0" + std::string(hex) : std::string(hex);
  std::string out(h.size() / 2, '\0');
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(nibble(h[2 * i]) << 4 | nibble(h[2 * i + 1]));
  return out;
}

Result<std::vector<CertificateAuthority::CrlMade>> CertificateAuthority::generate_crls() {
  Impl& d = *impl_;
  JLIS_RETURN_IF_ERROR(load_keys());
  // One generation at a time across threads and processes (jlis ca crl beside jlis serve), so CRL
  // numbers and files always move forward together.
  CrlLock lock;
  JLIS_RETURN_IF_ERROR(lock.acquire(fs::path(d.dir) / "pki" / "crl" / ".lock"));
  std::string public_url;
  {
    std::lock_guard url_lock(d.mu);
    public_url = d.public_url;
  }
  std::vector<CrlMade> out;
  const bool all_partitions = d.now() - d.partitions_at.load() >= kCrlPeriod;
  int64_t partitions = 0;
  for (CertificateKind kind : kCardCertificateKinds) {
   const std::string ca(kind_name(kind));
   for (const auto& generation : d.generations[static_cast<size_t>(kind)]) {
    Impl::Authority& a = *generation;
    const int64_t gen = a.generation;
    const std::string name = crl_name(kind, a.generation);
    const int64_t now = d.now();
    if (&a != &d.authority(kind)) {
      // An earlier generation publishes until the last certificate it signed expires.
      JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
      JLIS_ASSIGN_OR_RETURN(auto live, conn->query_int64("SELECT COUNT(*) FROM pki_certificates WHERE ca = ? AND "
                                                         "generation = ? AND not_after >= ?",
                                                         {ca, gen, now}));
      if (live.value_or(0) == 0) continue;
    }
    CrlParams params = d.crl_params(a, now);
    int64_t newest_seq = 0;
    CrlEntries entries;
    {
      JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
      JLIS_ASSIGN_OR_RETURN(params.crl_number, next_crl_number(*conn, name));
      // The newest change of status it includes (a release of a hold too).
      JLIS_ASSIGN_OR_RETURN(auto seq, conn->query_int64(
                                          "SELECT MAX(revocation_seq) FROM pki_certificates WHERE ca = ? AND generation = ?",
                                          {ca, gen}));
      newest_seq = seq.value_or(0);
      // Entries stay listed until the certificate expires (RFC 5280 §3.3); a released hold is gone.
      // The unary + keeps SQLite from reading through the revocation_seq index and sorting: the
      // covering index pki_certificates_crl gives the rows in serial order.
      JLIS_ASSIGN_OR_RETURN(entries, read_entries(*conn,
                                                  "ca = ? AND generation = ? AND revocation_seq IS NOT NULL AND "
                                                  "+revocation_seq <= ? AND revoked_at IS NOT NULL AND not_after >= ?",
                                                  {ca, gen, newest_seq, now}, now));
    }
    if (kind == CertificateKind::signature) {
      // The partitions first, so that a failure leaves the full CRL unpublished and the retry
      // finds the same partitions touched: those with a change of status since the newest
      // published full CRL, or every one once a day.
      std::vector<std::string> touched;
      if (!all_partitions) {
        JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
        JLIS_ASSIGN_OR_RETURN(auto since, conn->query_int64(
                                              "SELECT revocation_seq FROM pki_crls WHERE ca = ? AND "
                                              "published = 1 AND delta_base IS NULL ORDER BY crl_number DESC LIMIT 1",
                                              {name}));
        JLIS_RETURN_IF_ERROR(conn->query("SELECT DISTINCT municipality FROM pki_certificates WHERE revocation_seq > ? "
                                         "AND revocation_seq <= ? AND ca = 'signature' AND generation = ? AND "
                                         "municipality IS NOT NULL",
                                         {since.value_or(0), newest_seq, gen}, [&](const Row& r) {
                                           touched.push_back(r.text(0));
                                           return true;
                                         }));
      }
      JLIS_ASSIGN_OR_RETURN(size_t made, generate_partitions(a.generation, all_partitions ? nullptr : &touched,
                                                             newest_seq, now, public_url));
      partitions += static_cast<int64_t>(made);
    }
    if (!public_url.empty()) params.freshest_crl_url = public_url + "/crl/" + name + "-delta.crl";
    JLIS_RETURN_IF_ERROR(publish_crl(d.writer, crl_path(d.dir, name), name, params, entries, newest_seq));
    JLIS_RETURN_IF_ERROR(store_computed_entries(d.writer, entries));
    ++d.crls;
    out.push_back({kind, name, static_cast<int64_t>(entries.count)});
    JLIS_RETURN_IF_ERROR(generate_delta(kind, a.generation, newest_seq, now));
   }
  }
  d.partitions_made = partitions;
  if (all_partitions) d.partitions_at = d.now();
  std::lock_guard tick_lock(d.tick_mu);
  d.last_crl_at = d.now();
  return out;
}

Status CertificateAuthority::generate_delta(CertificateKind kind, int generation, int64_t newest_seq, int64_t now) {
  Impl& d = *impl_;
  const std::string ca(kind_name(kind));
  const std::string name = crl_name(kind, generation);
  Impl::Authority* a = d.authority(kind, generation);
  if (a == nullptr) return internal_error("no such CA generation");
  CrlParams params = d.crl_params(*a, now);
  CrlEntries entries;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
    JLIS_ASSIGN_OR_RETURN(params.crl_number, next_crl_number(*conn, name));
    JLIS_ASSIGN_OR_RETURN(auto base, delta_base(*conn, name, now));
    params.delta_base = base.first;
    // Every change of status after the base: revocations, changed reasons, and releases from
    // hold (their stored entry says removeFromCRL).
    JLIS_ASSIGN_OR_RETURN(entries, read_entries(*conn,
                                                "ca = ? AND generation = ? AND revocation_seq IS NOT NULL AND "
                                                "revocation_seq > ? AND revocation_seq <= ? AND not_after >= ?",
                                                {ca, static_cast<int64_t>(generation), base.second, newest_seq, now},
                                                now));
  }
  JLIS_RETURN_IF_ERROR(publish_crl(d.writer, crl_path(d.dir, name, true), name, params, entries, newest_seq));
  ++d.crls;
  return Status::ok();
}

Result<size_t> CertificateAuthority::generate_partitions(int generation, const std::vector<std::string>* codes,
                                                        int64_t newest_seq, int64_t now, const std::string& public_url) {
  Impl& d = *impl_;
  Impl::Authority* a = d.authority(CertificateKind::signature, generation);
  if (a == nullptr) return internal_error("no such CA generation");
  const std::string name = crl_name(CertificateKind::signature, generation);
  const int64_t gen = generation;
  std::vector<std::string> every;
  std::map<std::string, CrlEntries> entries;
  std::vector<SignedPartition> crls;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
    if (codes == nullptr) {
      // Every municipality with an unexpired signature certificate (pki_certificates_municipality).
      JLIS_RETURN_IF_ERROR(conn->query("SELECT DISTINCT municipality FROM pki_certificates WHERE ca = 'signature' AND "
                                       "generation = ? AND municipality IS NOT NULL AND not_after >= ?",
                                       {gen, now}, [&](const Row& r) {
                                         every.push_back(r.text(0));
                                         return true;
                                       }));
    }
    JLIS_ASSIGN_OR_RETURN(entries, read_partition_entries(*conn, generation, codes, newest_seq, now));
    for (const std::string& code : codes ? *codes : every) {
      JLIS_ASSIGN_OR_RETURN(auto last, conn->query_int64("SELECT MAX(crl_number) FROM pki_crl_partitions WHERE ca = ? "
                                                         "AND municipality = ?",
                                                         {name, code}));
      SignedPartition c;
      c.code = code;
      c.crl_number = last.value_or(0) + 1;
      crls.push_back(std::move(c));
    }
  }
  for (SignedPartition& c : crls) {
    auto lg = LocalGovernmentCode::parse(c.code);
    if (!lg.ok()) return internal_error("a certificate names the municipality " + c.code + ", which is no code");
    JLIS_ASSIGN_OR_RETURN(RomajiLocality where, romaji_locality(d.registry.reference(), *lg));
    JLIS_ASSIGN_OR_RETURN(X509NamePtr dn,
                          crl_partition_name(a->cert.get(), where.prefecture, c.code));
    CrlParams params = d.crl_params(*a, now);
    params.crl_number = c.crl_number;
    params.idp_directory_name = dn.get();
    params.idp_url = crl_partition_url(public_url, name, c.code);
    static const CrlEntries kNone;
    auto it = entries.find(c.code);
    const CrlEntries& e = it == entries.end() ? kNone : it->second;
    JLIS_ASSIGN_OR_RETURN(c.der, assemble_crl(params, e.der));
    c.this_update = params.this_update;
    c.next_update = params.next_update;
    c.entries = static_cast<int64_t>(e.count);
  }
  JLIS_RETURN_IF_ERROR(publish_partitions(d.writer, d.dir, name, crls, newest_seq));
  d.crls += crls.size();
  return crls.size();
}

Result<int64_t> CertificateAuthority::generate_partition(const std::string& municipality_code, int generation) {
  Impl& d = *impl_;
  auto lg = LocalGovernmentCode::parse(municipality_code);
  if (!lg.ok() || d.registry.reference().find(*lg) == nullptr)
    return not_found("no municipality has the code '" + municipality_code + "' (6 digits with the check digit)");
  if (d.authority(CertificateKind::signature, generation) == nullptr)
    return not_found("the signature CA has no generation " + std::to_string(generation));
  JLIS_RETURN_IF_ERROR(load_keys());
  CrlLock lock;
  JLIS_RETURN_IF_ERROR(lock.acquire(fs::path(d.dir) / "pki" / "crl" / ".lock"));
  const std::string code = lg->str();
  const std::string name = crl_name(CertificateKind::signature, generation);
  int64_t newest_seq = 0;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
    JLIS_ASSIGN_OR_RETURN(auto seq, conn->query_int64("SELECT MAX(revocation_seq) FROM pki_certificates WHERE ca = "
                                                      "'signature' AND generation = ?",
                                                      {static_cast<int64_t>(generation)}));
    newest_seq = seq.value_or(0);
  }
  const std::vector<std::string> one{code};
  JLIS_RETURN_IF_ERROR(generate_partitions(generation, &one, newest_seq, d.now(), public_url()).status());
  JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
  JLIS_ASSIGN_OR_RETURN(auto entries, conn->query_int64("SELECT entries FROM pki_crl_partitions WHERE ca = ? "
                                                        "AND municipality = ? AND published = 1 ORDER BY crl_number "
                                                        "DESC LIMIT 1",
                                                        {name, code}));
  return entries.value_or(0);
}

Result<std::string> CertificateAuthority::partition_crl(const std::string& municipality_code, int generation) {
  auto lg = LocalGovernmentCode::parse(municipality_code);
  if (!lg.ok() || impl_->registry.reference().find(*lg) == nullptr)
    return not_found("no CRL partition is named '" + municipality_code + "' (a municipality code, 6 digits)");
  if (impl_->authority(CertificateKind::signature, generation) == nullptr) return not_found("no such CRL partition");
  const fs::path path = partition_path(impl_->dir, crl_name(CertificateKind::signature, generation), lg->str());
  std::error_code ec;
  if (!fs::exists(path, ec)) JLIS_RETURN_IF_ERROR(generate_partition(lg->str(), generation).status());
  std::ifstream in(path, std::ios::binary);
  if (!in) return unavailable("the CRL partition cannot be read");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Result<std::pair<CertificateKind, int>> CertificateAuthority::parse_crl_name(std::string_view name) const {
  for (CertificateKind kind : kCardCertificateKinds) {
    const std::string k(kind_name(kind));
    if (name == k) return std::pair<CertificateKind, int>{kind, 1};
    if (name.size() > k.size() + 2 && name.substr(0, k.size() + 2) == k + "-g") {
      const std::string_view digits = name.substr(k.size() + 2);
      if (digits.size() > 2 || digits.find_first_not_of("0123456789") != std::string_view::npos || digits[0] == '0')
        break;
      const int n = std::stoi(std::string(digits));
      if (n >= 2 && impl_->authority(kind, n) != nullptr) return std::pair<CertificateKind, int>{kind, n};
    }
  }
  return not_found("no such CRL");
}

Result<std::string> CertificateAuthority::crl_named(std::string_view name, bool delta) {
  JLIS_ASSIGN_OR_RETURN(auto scope, parse_crl_name(name));
  return read_crl(scope.first, scope.second, delta);
}

int64_t CertificateAuthority::partitions_generated() const { return impl_->partitions_made.load(); }

Result<std::string> CertificateAuthority::crl(CertificateKind kind) { return read_crl(kind, 1, false); }

Result<std::string> CertificateAuthority::delta_crl(CertificateKind kind) { return read_crl(kind, 1, true); }

Result<std::string> CertificateAuthority::read_crl(CertificateKind kind, int generation, bool delta) {
  const fs::path path = crl_path(impl_->dir, crl_name(kind, generation), delta);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    JLIS_RETURN_IF_ERROR(generate_crls().status());
    // An earlier generation whose certificates all expired before it ever published.
    if (!fs::exists(path, ec)) return not_found("this CA generation publishes no CRL: its certificates have expired");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return unavailable("the CRL cannot be read");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Result<std::vector<CertificateAuthority::PublishedCrl>> CertificateAuthority::published_crls() {
  Impl& d = *impl_;
  JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
  std::vector<PublishedCrl> out;
  auto file_bytes = [](const fs::path& path) {
    std::error_code ec;
    const auto n = fs::file_size(path, ec);
    return ec ? int64_t{0} : static_cast<int64_t>(n);
  };
  for (CertificateKind kind : kCardCertificateKinds) {
    for (int gen = 1;; ++gen) {
      const std::string name = crl_name(kind, gen);
      bool any = false;
      for (bool delta : {false, true}) {
        // The newest of the name's CRLs, read backwards along the primary key (ca, crl_number).
        JLIS_RETURN_IF_ERROR(conn->query(
            std::string("SELECT crl_number, this_update, next_update, entries FROM pki_crls WHERE ca = ? AND "
                        "published = 1 AND delta_base IS ") + (delta ? "NOT NULL" : "NULL") +
                " ORDER BY crl_number DESC LIMIT 1",
            {name}, [&](const store::Row& r) {
              any = true;
              out.push_back({delta ? name + "-delta" : name, r.int64(0), r.int64(1), r.int64(2), r.int64(3),
                             file_bytes(crl_path(d.dir, name, delta))});
              return false;
            }));
      }
      if (!any) break;
      if (kind != CertificateKind::signature) continue;
      // The newest published partition of each municipality, summed.
      PublishedCrl parts{name + "/", 0, 0, 0, 0, 0};
      int64_t count = 0;
      JLIS_RETURN_IF_ERROR(conn->query(
          "SELECT p.municipality, p.this_update, p.next_update, p.entries FROM pki_crl_partitions p JOIN (SELECT "
          "municipality, MAX(crl_number) AS n FROM pki_crl_partitions WHERE ca = ? AND published = 1 GROUP BY "
          "municipality) m ON p.municipality = m.municipality AND p.crl_number = m.n WHERE p.ca = ?",
          {name, name}, [&](const store::Row& r) {
            ++count;
            if (parts.this_update == 0 || r.int64(1) < parts.this_update) {
              parts.this_update = r.int64(1);
              parts.next_update = r.int64(2);
            }
            parts.entries += r.int64(3);
            parts.bytes += file_bytes(partition_path(d.dir, name, r.text(0)));
            return true;
          }));
      if (count == 0) continue;
      parts.name += " (" + std::to_string(count) + " partitions)";
      out.push_back(std::move(parts));
    }
  }
  return out;
}

Result<OcspResponder*> CertificateAuthority::responder() {
  Impl& d = *impl_;
  JLIS_RETURN_IF_ERROR(load_keys());
  std::lock_guard lock(d.mu);
  if (!d.responder) {
    // One issuer per generation of each CA: a request's CertID (issuerNameHash and
    // issuerKeyHash) chooses the generation by its key, and that generation's responder signs.
    std::vector<OcspIssuer> issuers;
    d.ocsp_issuers.clear();
    for (CertificateKind kind : kCardCertificateKinds) {
      for (const auto& a : d.generations[static_cast<size_t>(kind)]) {
        // The responders' keys are decrypted when the responder is made (`jlis serve` makes it at
        // start), not with the CA's: a command that answers no OCSP request leaves them encrypted.
        if (!a->responder_key) {
          JLIS_ASSIGN_OR_RETURN(a->responder_key, d.keystore->load(key_label(kind, "ocsp", a->generation)));
        }
        issuers.push_back({a->cert.get(), a->responder_cert.get(), a->responder_key.get()});
        d.ocsp_issuers.emplace_back(kind, a->generation);
      }
    }
    auto lookup = [&d](size_t issuer, const std::string& serial) -> Result<CertificateStatus> {
      JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
      CertificateStatus status;
      const auto [kind, generation] = d.ocsp_issuers.at(issuer);
      JLIS_RETURN_IF_ERROR(conn->query("SELECT ca, revoked_at, reason, generation FROM pki_certificates WHERE serial = ?",
                                       {serial}, [&](const Row& r) {
                                         if (r.text(0) != kind_name(kind) || r.int64(3) != generation) return false;
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
        "SELECT serial, ca, revocation_seq, generation FROM pki_certificates WHERE revocation_seq > ? ORDER BY "
        "revocation_seq",
        {d.seen_revocation_seq}, [&](const Row& r) {
          const CertificateKind kind = r.text(1) == "signature" ? CertificateKind::signature
                                                                : CertificateKind::authentication;
          size_t issuer = 0;  // the responder's issuer of that generation (responder())
          for (CertificateKind k : kCardCertificateKinds) {
            if (k == kind) break;
            issuer += d.generations[static_cast<size_t>(k)].size();
          }
          revoked.emplace_back(issuer + static_cast<size_t>(r.int64(3) - 1), r.text(0));
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
