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
// The CA itself does not pay it: each entry's DER is encoded by OpenSSL (encode_crl_entry) when
// the certificate is revoked and kept with its row, and assemble_crl signs the concatenation
// inside the outer parts OpenSSL encodes for the same CRL without entries (build_crl is its
// reference, byte for byte, in tests/pki/crl_test.cpp).
#include "pki/crl.h"

#include <openssl/asn1.h>
#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <ctime>

#include "common/enum_names.h"
#include "pki/der.h"

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

using IssuingDistPointPtr = std::unique_ptr<ISSUING_DIST_POINT, OpensslDeleter<ISSUING_DIST_POINT_free>>;

// The critical issuingDistributionPoint of a partition (RFC 5280 §5.2.5: critical).
Status add_issuing_distribution_point(X509_CRL* crl, const CrlParams& params) {
  IssuingDistPointPtr idp(ISSUING_DIST_POINT_new());
  if (!idp) return openssl_error("allocating the issuingDistributionPoint extension");
  idp->distpoint = DIST_POINT_NAME_new();
  if (idp->distpoint == nullptr) return openssl_error("allocating the issuingDistributionPoint extension");
  JLIS_ASSIGN_OR_RETURN(GeneralNamesPtr names, distribution_point_names(params.idp_directory_name, params.idp_url));
  idp->distpoint->type = 0;  // fullName
  idp->distpoint->name.fullname = names.release();
  idp->onlyuser = 0xff;  // BOOLEAN TRUE (only end-entity certificates are listed)
  if (X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp.get(), 1, X509V3_ADD_DEFAULT) != 1)
    return openssl_error("adding the issuingDistributionPoint extension");
  return Status::ok();
}

Status add_crl_number(X509_CRL* crl, int nid, int64_t value, int critical) {
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), value) != 1) return openssl_error("encoding a CRL number");
  if (X509_CRL_add1_ext_i2d(crl, nid, number.get(), critical, X509V3_ADD_DEFAULT) != 1)
    return openssl_error("adding a CRL number extension");
  return Status::ok();
}

Status add_crl_extensions(X509_CRL* crl, const CrlParams& params) {
  JLIS_ASSIGN_OR_RETURN(Asn1OctetStringPtr key_id, ca_key_id(params.issuer));
  AuthorityKeyIdPtr akid(AUTHORITY_KEYID_new());
  if (!akid) return openssl_error("allocating the authorityKeyIdentifier");
  akid->keyid = key_id.release();
  if (X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return openssl_error("adding the authorityKeyIdentifier extension");
  JLIS_RETURN_IF_ERROR(add_crl_number(crl, NID_crl_number, params.crl_number, 0));
  // RFC 5280 §5.2.4: deltaCRLIndicator is critical.
  if (params.delta_base) JLIS_RETURN_IF_ERROR(add_crl_number(crl, NID_delta_crl, *params.delta_base, 1));
  if (!params.freshest_crl_url.empty()) {
    JLIS_ASSIGN_OR_RETURN(CrlDistPointsPtr points, distribution_points(nullptr, params.freshest_crl_url));
    if (X509_CRL_add1_ext_i2d(crl, NID_freshest_crl, points.get(), 0, X509V3_ADD_DEFAULT) != 1)
      return openssl_error("adding the freshestCRL extension");
  }
  if (!params.idp_url.empty()) JLIS_RETURN_IF_ERROR(add_issuing_distribution_point(crl, params));
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

// The DER of the signatureValue BIT STRING, every bit significant (as X509_CRL_sign records it).
Result<std::string> encode_signature(std::string& signature) {
  using BitStringPtr = std::unique_ptr<ASN1_BIT_STRING, OpensslDeleter<ASN1_BIT_STRING_free>>;
  BitStringPtr bits(ASN1_BIT_STRING_new());
  if (!bits || ASN1_BIT_STRING_set(bits.get(), reinterpret_cast<unsigned char*>(signature.data()),
                                   static_cast<int>(signature.size())) != 1)
    return openssl_error("encoding the CRL's signature");
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  unsigned char* der = nullptr;
  const int len = i2d_ASN1_BIT_STRING(bits.get(), &der);
  if (len <= 0) return openssl_error("encoding the CRL's signature");
  std::unique_ptr<unsigned char, OpensslDeleter<free_openssl_buffer>> owned(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
}

// The DER CertificateList: SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }, the
// tbsCertList given as pieces (signed as they are, copied once into the answer). `crl` carries
// the signature algorithm already, from signing it empty with the same key and parameters.
Result<std::string> sign_and_encode(X509_CRL* crl, EVP_PKEY* key, const std::vector<std::string_view>& tbs_pieces) {
  JLIS_ASSIGN_OR_RETURN(std::string signature, der::sha256_signature(key, tbs_pieces));
  JLIS_ASSIGN_OR_RETURN(std::string bits, encode_signature(signature));
  const ASN1_BIT_STRING* empty_signature = nullptr;
  const X509_ALGOR* algorithm = nullptr;
  X509_CRL_get0_signature(crl, &empty_signature, &algorithm);
  unsigned char* algorithm_der = nullptr;
  const int algorithm_len = i2d_X509_ALGOR(algorithm, &algorithm_der);
  if (algorithm_len <= 0) return openssl_error("encoding the CRL's signature algorithm");
  std::unique_ptr<unsigned char, OpensslDeleter<free_openssl_buffer>> owned(algorithm_der);

  size_t tbs_len = 0;
  for (std::string_view piece : tbs_pieces) tbs_len += piece.size();
  const size_t content_len = tbs_len + static_cast<size_t>(algorithm_len) + bits.size();
  std::string out;
  out.reserve(content_len + 8);
  JLIS_RETURN_IF_ERROR(append_sequence_header(out, content_len));
  for (std::string_view piece : tbs_pieces) out.append(piece);
  out.append(reinterpret_cast<const char*>(algorithm_der), static_cast<size_t>(algorithm_len));
  out.append(bits);
  return out;
}

// A CRL as params say, without entries, signed once so that both signature AlgorithmIdentifiers
// are exactly as X509_CRL_sign_ctx writes them for this key.
Result<X509CrlPtr> empty_signed_crl(const CrlParams& params) {
  if (params.issuer == nullptr || params.key == nullptr)
    return invalid_argument("a CRL needs the CA certificate and its key");
  if (params.next_update < params.this_update) return invalid_argument("the CRL's nextUpdate is before its thisUpdate");
  if (params.crl_number < 0) return invalid_argument("the CRL number is negative");
  if (params.delta_base && (*params.delta_base < 0 || *params.delta_base >= params.crl_number))
    return invalid_argument("a delta CRL's base CRL number must be below its own");
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
  JLIS_RETURN_IF_ERROR(add_crl_extensions(crl.get(), params));
  JLIS_ASSIGN_OR_RETURN(EvpMdCtxPtr signer, der::sha256_signer(params.key));
  if (X509_CRL_sign_ctx(crl.get(), signer.get()) <= 0) return openssl_error("signing the CRL");
  return crl;
}

// OpenSSL's DER of the tbsCertList of `crl` (encoded afresh, not a cached encoding).
Result<std::string> tbs_der(X509_CRL* crl) {
  unsigned char* der = nullptr;
  const int len = i2d_re_X509_CRL_tbs(crl, &der);
  if (len <= 0) return openssl_error("encoding the CRL");
  std::unique_ptr<unsigned char, OpensslDeleter<free_openssl_buffer>> owned(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
}

// An entry-less tbsCertList split where revokedCertificates belongs: `before` is the contents up
// to nextUpdate (version .. nextUpdate), `after` the [0] crlExtensions. Read with OpenSSL's
// ASN1_get_object.
struct TbsParts {
  std::string_view before, after;
};

Result<TbsParts> split_tbs(std::string_view tbs) {
  const auto* begin = reinterpret_cast<const unsigned char*>(tbs.data());
  const unsigned char* p = begin;
  long len = 0;
  int tag = 0, cls = 0;
  if ((ASN1_get_object(&p, &len, &tag, &cls, static_cast<long>(tbs.size())) & 0x80) != 0 ||
      tag != V_ASN1_SEQUENCE || p + len != begin + tbs.size())
    return internal_error("OpenSSL's tbsCertList is not a SEQUENCE");
  const unsigned char* content = p;
  const unsigned char* end = p + len;
  while (p < end) {
    const unsigned char* element = p;
    if ((ASN1_get_object(&p, &len, &tag, &cls, end - p) & 0x80) != 0)
      return internal_error("OpenSSL's tbsCertList does not parse");
    if (cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0) {
      return TbsParts{std::string_view(reinterpret_cast<const char*>(content), static_cast<size_t>(element - content)),
                      std::string_view(reinterpret_cast<const char*>(element), static_cast<size_t>(end - element))};
    }
    p += len;
  }
  return internal_error("OpenSSL's tbsCertList has no extensions");
}

}  // namespace

std::string_view reason_name(RevocationReason reason) {
  return valid_reason(reason) ? kReasonNames[static_cast<size_t>(reason)] : std::string_view("unspecified");
}

Result<RevocationReason> parse_reason(std::string_view name) {
  return parse_enum_name<RevocationReason>(kReasonNames, name, "the revocation reason");
}

Result<GeneralNamesPtr> distribution_point_names(const X509_NAME* name, const std::string& url) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return openssl_error("allocating a distribution point name");
  if (name != nullptr) {
    X509_NAME* copy = X509_NAME_dup(name);
    GENERAL_NAME* directory = GENERAL_NAME_new();
    if (copy == nullptr || directory == nullptr) {
      X509_NAME_free(copy);
      GENERAL_NAME_free(directory);
      return openssl_error("allocating a distribution point name");
    }
    GENERAL_NAME_set0_value(directory, GEN_DIRNAME, copy);  // takes copy
    if (sk_GENERAL_NAME_push(names.get(), directory) <= 0) {
      GENERAL_NAME_free(directory);
      return openssl_error("building a distribution point name");
    }
  }
  GENERAL_NAME* general = GENERAL_NAME_new();
  ASN1_IA5STRING* uri = ASN1_IA5STRING_new();
  if (general == nullptr || uri == nullptr || ASN1_STRING_set(uri, url.data(), static_cast<int>(url.size())) != 1) {
    GENERAL_NAME_free(general);
    ASN1_IA5STRING_free(uri);
    return openssl_error("encoding a distribution point URI");
  }
  GENERAL_NAME_set0_value(general, GEN_URI, uri);  // takes uri
  if (sk_GENERAL_NAME_push(names.get(), general) <= 0) {
    GENERAL_NAME_free(general);
    return openssl_error("building a distribution point name");
  }
  return names;
}

Result<CrlDistPointsPtr> distribution_points(const X509_NAME* name, const std::string& url) {
  CrlDistPointsPtr points(sk_DIST_POINT_new_null());
  DIST_POINT* point = DIST_POINT_new();
  if (!points || point == nullptr || sk_DIST_POINT_push(points.get(), point) <= 0) {
    DIST_POINT_free(point);
    return openssl_error("allocating a distribution point");
  }
  point->distpoint = DIST_POINT_NAME_new();
  if (point->distpoint == nullptr) return openssl_error("allocating a distribution point");
  JLIS_ASSIGN_OR_RETURN(GeneralNamesPtr names, distribution_point_names(name, url));
  point->distpoint->type = 0;  // fullName
  point->distpoint->name.fullname = names.release();
  return points;
}

Result<std::string> build_crl(const CrlParams& params, const std::vector<RevokedEntry>& entries) {
  JLIS_ASSIGN_OR_RETURN(std::vector<SortKey> keys, sorted_keys(entries));
  JLIS_ASSIGN_OR_RETURN(X509CrlPtr crl, empty_signed_crl(params));
  JLIS_RETURN_IF_ERROR(add_entries(crl.get(), entries, keys));
  JLIS_ASSIGN_OR_RETURN(std::string tbs, tbs_der(crl.get()));
  return sign_and_encode(crl.get(), params.key, {tbs});
}

Result<std::string> encode_crl_entry(const RevokedEntry& entry) {
  JLIS_ASSIGN_OR_RETURN(std::vector<SortKey> keys, sorted_keys({entry}));
  const SortKey& k = keys.front();
  X509RevokedPtr revoked(X509_REVOKED_new());
  Asn1IntegerPtr serial(ASN1_INTEGER_new());
  Asn1TimePtr utc_time(ASN1_STRING_type_new(V_ASN1_UTCTIME));
  Asn1TimePtr generalized_time(ASN1_STRING_type_new(V_ASN1_GENERALIZEDTIME));
  if (!revoked || !serial || !utc_time || !generalized_time) return openssl_error("allocating a CRL entry");
  ASN1_TIME* date = nullptr;
  if (!set_time(utc_time.get(), generalized_time.get(), entry.revoked_at, &date))
    return invalid_argument("a CRL entry's revocation time is out of range");
  if (ASN1_STRING_set(serial.get(), k.bytes.data(), k.length) != 1 ||
      X509_REVOKED_set_serialNumber(revoked.get(), serial.get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), date) != 1)
    return openssl_error("setting a CRL entry");
  if (entry.reason != RevocationReason::unspecified) {
    Asn1EnumeratedPtr reason(ASN1_ENUMERATED_new());
    if (!reason || ASN1_ENUMERATED_set(reason.get(), static_cast<long>(entry.reason)) != 1 ||
        X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, reason.get(), 0, X509V3_ADD_DEFAULT) != 1)
      return openssl_error("adding a reasonCode extension");
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509_REVOKED(revoked.get(), &der);
  if (len <= 0) return openssl_error("encoding a CRL entry");
  std::unique_ptr<unsigned char, OpensslDeleter<free_openssl_buffer>> owned(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
}

Status append_sequence_header(std::string& out, size_t content_length) {
  if (content_length > static_cast<size_t>(INT_MAX - 16)) return invalid_argument("a DER SEQUENCE is too long");
  der::append_header(out, der::kSequence, content_length);
  return Status::ok();
}

bool serial_less(std::string_view a, std::string_view b) {
  a.remove_prefix(std::min(a.find_first_not_of('\0'), a.size()));
  b.remove_prefix(std::min(b.find_first_not_of('\0'), b.size()));
  if (a.size() != b.size()) return a.size() < b.size();
  return std::memcmp(a.data(), b.data(), a.size()) < 0;
}

Result<std::string> assemble_crl(const CrlParams& params, std::string_view entries_der) {
  JLIS_ASSIGN_OR_RETURN(X509CrlPtr crl, empty_signed_crl(params));
  JLIS_ASSIGN_OR_RETURN(std::string empty_tbs, tbs_der(crl.get()));
  JLIS_ASSIGN_OR_RETURN(TbsParts parts, split_tbs(empty_tbs));
  // revokedCertificates is absent when empty, as OpenSSL writes a CRL without entries.
  std::string entries_header;
  if (!entries_der.empty()) JLIS_RETURN_IF_ERROR(append_sequence_header(entries_header, entries_der.size()));
  std::string tbs_header;
  JLIS_RETURN_IF_ERROR(append_sequence_header(
      tbs_header, parts.before.size() + entries_header.size() + entries_der.size() + parts.after.size()));
  return sign_and_encode(crl.get(), params.key, {tbs_header, parts.before, entries_header, entries_der, parts.after});
}

}  // namespace jlis::pki
