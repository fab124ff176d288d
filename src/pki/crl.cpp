// A JPKI CRL lists up to millions of entries, so they go into OpenSSL's X509_CRL the cheap way
// (measured with bench/crl_generation.cpp and perf):
//   - the input is sorted here, on a fixed-size key, and added in order: X509_CRL_sort would
//     qsort a million pointers through ASN1_STRING_cmp, for the same order;
//   - serials are set from their bytes (no BIGNUM) and times from a string formatted here (no
//     BIO_snprintf per entry), through one scratch ASN1_INTEGER and ASN1_TIME;
//   - one reasonCode value per reason, encoded into each entry by X509_REVOKED_add1_ext_i2d
//     (cheaper than X509_REVOKED_add_ext, which copies an extension through i2d and d2i);
//   - the entries are encoded once, not twice (see sign_and_encode).
// What is left is OpenSSL's own per-entry cost: allocating, encoding and freeing X509_REVOKED
// objects, about 3 µs per entry in all.
#include "pki/crl.h"

#include <openssl/asn1.h>
#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <ctime>

#include "common/enum_names.h"

namespace jlis::pki {

namespace {

using Asn1EnumeratedPtr = std::unique_ptr<ASN1_ENUMERATED, OpensslDeleter<ASN1_ENUMERATED_free>>;
using AuthorityKeyIdPtr = std::unique_ptr<AUTHORITY_KEYID, OpensslDeleter<AUTHORITY_KEYID_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, OpensslDeleter<ASN1_OCTET_STRING_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, OpensslDeleter<X509_REVOKED_free>>;

void free_openssl_buffer(unsigned char* p) { OPENSSL_free(p); }

// Indexed by the reason's value; 7 is not a CRLReason.
constexpr std::array<std::string_view, 11> kReasonNames = {
    "unspecified",          "keyCompromise",   "cACompromise",  "affiliationChanged",
    "superseded",           "cessationOfOperation", "certificateHold", "",
    "removeFromCRL",        "privilegeWithdrawn",   "aACompromise",
};

bool valid_reason(RevocationReason reason) {
  const int v = static_cast<int>(reason);
  return v >= 0 && v < static_cast<int>(kReasonNames.size()) && !kReasonNames[v].empty();
}

constexpr size_t kMaxSerialBytes = 20;  // RFC 5280 §4.1.2.2

// An entry's serial as a sort key: numeric order of positive integers is (length, bytes) once
// leading zero bytes are gone, which is also the order of OpenSSL's X509_REVOKED_cmp. The first
// eight bytes, as a big-endian integer, decide almost every comparison without a memcmp.
struct SortKey {
  uint64_t prefix;
  uint32_t index;  // into the caller's entries
  uint8_t length;
  std::array<uint8_t, kMaxSerialBytes> bytes;  // left-aligned, zero-padded
};

bool key_less(const SortKey& a, const SortKey& b) {
  if (a.length != b.length) return a.length < b.length;
  if (a.prefix != b.prefix) return a.prefix < b.prefix;
  return std::memcmp(a.bytes.data() + 8, b.bytes.data() + 8, kMaxSerialBytes - 8) < 0;
}

bool key_equal(const SortKey& a, const SortKey& b) {
  return a.length == b.length && a.prefix == b.prefix && a.bytes == b.bytes;
}

Result<std::vector<SortKey>> sorted_keys(const std::vector<RevokedEntry>& entries) {
  if (entries.size() > INT32_MAX) return invalid_argument("too many CRL entries");
  std::vector<SortKey> keys(entries.size());
  bool sorted = true;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& s = entries[i].serial;
    const size_t first = s.find_first_not_of('\0');
    if (first == std::string::npos) return invalid_argument("a CRL entry has an empty or zero serial number");
    if (s.size() - first > kMaxSerialBytes) return invalid_argument("a CRL entry's serial number is over 20 bytes");
    if (!valid_reason(entries[i].reason)) return invalid_argument("a CRL entry has an invalid revocation reason");
    SortKey& k = keys[i];
    k.length = static_cast<uint8_t>(s.size() - first);
    k.bytes.fill(0);
    std::memcpy(k.bytes.data(), s.data() + first, k.length);
    k.prefix = 0;
    for (size_t b = 0; b < 8; ++b) k.prefix = (k.prefix << 8) | k.bytes[b];
    k.index = static_cast<uint32_t>(i);
    if (i > 0 && sorted && !key_less(keys[i - 1], k)) sorted = false;
  }
  if (!sorted) std::sort(keys.begin(), keys.end(), key_less);
  for (size_t i = 1; i < keys.size(); ++i) {
    if (key_equal(keys[i - 1], keys[i])) return invalid_argument("duplicate serial number in the CRL entries");
  }
  return keys;
}

// "YYMMDDHHMMSSZ" (UTCTime, 1950..2049) or "YYYYMMDDHHMMSSZ" (GeneralizedTime), as RFC 5280
// §5.1.2.4 and §5.1.2.6 ask; the same choice ASN1_TIME_set makes.
bool format_time(int64_t unix_seconds, char* out /* 16 bytes */, bool& utc) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) return false;
  const int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) return false;
  utc = year >= 1950 && year < 2050;
  auto two = [](char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  char* p = out;
  if (!utc) {
    two(p, year / 100);
    p += 2;
  }
  two(p, year % 100);
  two(p + 2, tm.tm_mon + 1);
  two(p + 4, tm.tm_mday);
  two(p + 6, tm.tm_hour);
  two(p + 8, tm.tm_min);
  two(p + 10, tm.tm_sec);
  p[12] = 'Z';
  p[13] = '\0';
  return true;
}

// Sets `time` (an ASN1_TIME of the right type) to unix_seconds. Cheaper than ASN1_TIME_set, which
// formats through BIO_snprintf; the result is identical.
bool set_time(ASN1_TIME* utc_time, ASN1_TIME* generalized_time, int64_t unix_seconds, ASN1_TIME** out) {
  char text[16];
  bool utc = true;
  if (!format_time(unix_seconds, text, utc)) return false;
  ASN1_TIME* t = utc ? utc_time : generalized_time;
  if (ASN1_STRING_set(t, text, static_cast<int>(std::strlen(text))) != 1) return false;
  *out = t;
  return true;
}

// The CA's key identifier: its subjectKeyIdentifier, or else RFC 5280 §4.2.1.2 method 1 (SHA-1 of
// the subjectPublicKey bits), which is what CAs that omit the extension are expected to use.
Result<Asn1OctetStringPtr> ca_key_id(X509* ca) {
  Asn1OctetStringPtr id(ASN1_OCTET_STRING_new());
  if (!id) return openssl_error("allocating a key identifier");
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca);
  if (ski != nullptr) {
    if (ASN1_STRING_copy(id.get(), ski) != 1) return openssl_error("copying the CA's key identifier");
    return id;
  }
  ERR_clear_error();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_pubkey_digest(ca, EVP_sha1(), md, &len) != 1 || ASN1_OCTET_STRING_set(id.get(), md, static_cast<int>(len)) != 1)
    return openssl_error("computing the CA's key identifier");
  return id;
}

Status add_crl_extensions(X509_CRL* crl, X509* ca, int64_t crl_number) {
  JLIS_ASSIGN_OR_RETURN(Asn1OctetStringPtr key_id, ca_key_id(ca));
  AuthorityKeyIdPtr akid(AUTHORITY_KEYID_new());
  if (!akid) return openssl_error("allocating the authorityKeyIdentifier");
  akid->keyid = key_id.release();
  if (X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return openssl_error("adding the authorityKeyIdentifier extension");

  Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), crl_number) != 1)
    return openssl_error("encoding the CRL number");
  if (X509_CRL_add1_ext_i2d(crl, NID_crl_number, number.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return openssl_error("adding the cRLNumber extension");
  return Status::ok();
}

// One reasonCode value per reason, made once (index = reason value; null for unspecified, which is
// written as no extension, and for the unused 7).
Result<std::array<Asn1EnumeratedPtr, kReasonNames.size()>> reason_codes() {
  std::array<Asn1EnumeratedPtr, kReasonNames.size()> out;
  for (size_t i = 1; i < out.size(); ++i) {
    if (kReasonNames[i].empty()) continue;
    out[i].reset(ASN1_ENUMERATED_new());
    if (!out[i] || ASN1_ENUMERATED_set(out[i].get(), static_cast<long>(i)) != 1)
      return openssl_error("encoding a revocation reason");
  }
  return out;
}

Result<EvpMdCtxPtr> sha256_signer(EVP_PKEY* key) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1)
    return openssl_error("preparing to sign the CRL");
  return ctx;
}

// Adds the entries to `crl` in the order of `keys`, which is already the order of the serials.
Status add_entries(X509_CRL* crl, const std::vector<RevokedEntry>& entries, const std::vector<SortKey>& keys) {
  JLIS_ASSIGN_OR_RETURN(auto reasons, reason_codes());
  Asn1IntegerPtr serial(ASN1_INTEGER_new());
  Asn1TimePtr utc_time(ASN1_STRING_type_new(V_ASN1_UTCTIME));
  Asn1TimePtr generalized_time(ASN1_STRING_type_new(V_ASN1_GENERALIZEDTIME));
  if (!serial || !utc_time || !generalized_time) return openssl_error("allocating a CRL entry");
  for (const SortKey& k : keys) {
    const RevokedEntry& e = entries[k.index];
    X509RevokedPtr revoked(X509_REVOKED_new());
    if (!revoked) return openssl_error("allocating a CRL entry");
    ASN1_TIME* date = nullptr;
    if (!set_time(utc_time.get(), generalized_time.get(), e.revoked_at, &date))
      return invalid_argument("a CRL entry's revocation time is out of range");
    if (ASN1_STRING_set(serial.get(), k.bytes.data(), k.length) != 1 ||
        X509_REVOKED_set_serialNumber(revoked.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(revoked.get(), date) != 1)
      return openssl_error("setting a CRL entry");
    ASN1_ENUMERATED* reason = reasons[static_cast<size_t>(e.reason)].get();
    if (reason != nullptr &&
        X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, reason, 0, X509V3_ADD_DEFAULT) != 1)
      return openssl_error("adding a reasonCode extension");
    if (X509_CRL_add0_revoked(crl, revoked.get()) != 1) return openssl_error("adding a CRL entry");
    revoked.release();  // owned by the CRL
    if (&k == keys.data()) {  // the CRL has just made its stack of entries: size it once
      STACK_OF(X509_REVOKED)* stack = X509_CRL_get_REVOKED(crl);
      if (stack == nullptr || sk_X509_REVOKED_reserve(stack, static_cast<int>(keys.size())) != 1)
        return openssl_error("allocating the CRL entries");
    }
  }
  return Status::ok();
}

// The DER CertificateList: SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }, the
// tbsCertList encoded by OpenSSL from `crl` once and signed over those bytes. (X509_CRL_sign
// followed by i2d_X509_CRL would encode the million entries twice: OpenSSL keeps no encoding of a
// CRL it built, only of one it parsed.) `crl` carries the signature algorithm already, inside
// tbsCertList and outside, from signing it empty with the same key and parameters.
Result<std::string> sign_and_encode(X509_CRL* crl, EVP_PKEY* key) {
  unsigned char* tbs_der = nullptr;
  const int tbs_len = i2d_re_X509_CRL_tbs(crl, &tbs_der);
  if (tbs_len <= 0) return openssl_error("encoding the CRL");
  std::unique_ptr<unsigned char, OpensslDeleter<free_openssl_buffer>> tbs(tbs_der);

  JLIS_ASSIGN_OR_RETURN(EvpMdCtxPtr signer, sha256_signer(key));
  size_t signature_len = 0;
  if (EVP_DigestSign(signer.get(), nullptr, &signature_len, tbs.get(), static_cast<size_t>(tbs_len)) != 1)
    return openssl_error("signing the CRL");
  std::string signature(signature_len, '\0');
  if (EVP_DigestSign(signer.get(), reinterpret_cast<unsigned char*>(signature.data()), &signature_len, tbs.get(),
                     static_cast<size_t>(tbs_len)) != 1)
    return openssl_error("signing the CRL");
  using BitStringPtr = std::unique_ptr<ASN1_BIT_STRING, OpensslDeleter<ASN1_BIT_STRING_free>>;
  BitStringPtr bits(ASN1_BIT_STRING_new());
  if (!bits || ASN1_BIT_STRING_set(bits.get(), reinterpret_cast<unsigned char*>(signature.data()),
                                   static_cast<int>(signature_len)) != 1)
    return openssl_error("encoding the CRL's signature");
  // Every bit is significant (no unused bits), as X509_CRL_sign records it.
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;

  const ASN1_BIT_STRING* empty_signature = nullptr;
  const X509_ALGOR* algorithm = nullptr;
  X509_CRL_get0_signature(crl, &empty_signature, &algorithm);
  const int algorithm_len = i2d_X509_ALGOR(algorithm, nullptr);
  const int bits_len = i2d_ASN1_BIT_STRING(bits.get(), nullptr);
  if (algorithm_len <= 0 || bits_len <= 0) return openssl_error("encoding the CRL's signature");
  if (tbs_len > INT_MAX - algorithm_len - bits_len - 16) return internal_error("the CRL is too large to encode");
  const int content_len = tbs_len + algorithm_len + bits_len;
  const int total_len = ASN1_object_size(1, content_len, V_ASN1_SEQUENCE);
  if (total_len <= 0) return internal_error("the CRL is too large to encode");

  std::string out(static_cast<size_t>(total_len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  ASN1_put_object(&p, 1, content_len, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
  std::memcpy(p, tbs.get(), static_cast<size_t>(tbs_len));
  p += tbs_len;
  if (i2d_X509_ALGOR(algorithm, &p) != algorithm_len || i2d_ASN1_BIT_STRING(bits.get(), &p) != bits_len ||
      p != reinterpret_cast<unsigned char*>(out.data()) + out.size())
    return internal_error("encoding the CRL");
  return out;
}

}  // namespace

std::string_view reason_name(RevocationReason reason) {
  return valid_reason(reason) ? kReasonNames[static_cast<size_t>(reason)] : std::string_view("unspecified");
}

Result<RevocationReason> parse_reason(std::string_view name) {
  return parse_enum_name<RevocationReason>(kReasonNames, name, "the revocation reason");
}

Result<std::string> build_crl(const CrlParams& params, const std::vector<RevokedEntry>& entries) {
  if (params.issuer == nullptr || params.key == nullptr)
    return invalid_argument("a CRL needs the CA certificate and its key");
  if (params.next_update < params.this_update) return invalid_argument("the CRL's nextUpdate is before its thisUpdate");
  if (params.crl_number < 0) return invalid_argument("the CRL number is negative");
  JLIS_ASSIGN_OR_RETURN(std::vector<SortKey> keys, sorted_keys(entries));

  X509CrlPtr crl(X509_CRL_new());
  if (!crl) return openssl_error("allocating a CRL");
  if (X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(params.issuer)) != 1)
    return openssl_error("setting the CRL's version and issuer");
  JLIS_ASSIGN_OR_RETURN(Asn1TimePtr this_update, asn1_time(params.this_update));
  JLIS_ASSIGN_OR_RETURN(Asn1TimePtr next_update, asn1_time(params.next_update));
  if (X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1)
    return openssl_error("setting the CRL's update times");
  JLIS_RETURN_IF_ERROR(add_crl_extensions(crl.get(), params.issuer, params.crl_number));
  // Signing the CRL while it is still empty sets both signature AlgorithmIdentifiers exactly as
  // X509_CRL_sign_ctx writes them for this key; sign_and_encode signs the full CRL.
  JLIS_ASSIGN_OR_RETURN(EvpMdCtxPtr signer, sha256_signer(params.key));
  if (X509_CRL_sign_ctx(crl.get(), signer.get()) <= 0) return openssl_error("signing the CRL");
  JLIS_RETURN_IF_ERROR(add_entries(crl.get(), entries, keys));
  return sign_and_encode(crl.get(), params.key);
}

}  // namespace jlis::pki
