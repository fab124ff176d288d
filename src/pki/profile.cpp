#include "pki/profile.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

#include "common/date.h"
#include "common/digest.h"
#include "common/text.h"
#include "pki/certificate_builder.h"
#include "pki/crl.h"
#include "pki/der.h"

namespace jlis::pki {
namespace build {

Status add_entry(X509_NAME* name, const char* field, const std::string& value) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                 -1, -1, 0) != 1)
    return openssl_error("building a name");
  return Status::ok();
}

Status set_public_key(X509* cert, const PublicKey& pk) {
  if (pk.key != nullptr) {
    if (X509_set_pubkey(cert, pk.key) != 1) return openssl_error("setting the public key");
    return Status::ok();
  }
  auto* bits = static_cast<unsigned char*>(OPENSSL_malloc(pk.rsa_der.size()));
  if (bits == nullptr) return internal_error("out of memory");
  std::memcpy(bits, pk.rsa_der.data(), pk.rsa_der.size());
  // Takes `bits`; rsaEncryption's parameters are NULL.
  if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL, nullptr, bits,
                             static_cast<int>(pk.rsa_der.size())) != 1) {
    OPENSSL_free(bits);
    return openssl_error("setting the public key");
  }
  return Status::ok();
}

// A certificate with version, serial, validity, subject, issuer and public key set.
Result<X509Ptr> skeleton(const std::string& serial_hex, int64_t not_before, int64_t not_after, X509_NAME* subject,
                         X509_NAME* issuer, const PublicKey& public_key) {
  X509Ptr cert(X509_new());
  if (!cert) return openssl_error("allocating a certificate");
  JLIS_ASSIGN_OR_RETURN(auto serial, serial_from_hex(serial_hex));
  JLIS_ASSIGN_OR_RETURN(auto from, asn1_time(not_before));
  JLIS_ASSIGN_OR_RETURN(auto until, asn1_time(not_after));
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 || X509_set_serialNumber(cert.get(), serial.get()) != 1 ||
      X509_set1_notBefore(cert.get(), from.get()) != 1 || X509_set1_notAfter(cert.get(), until.get()) != 1 ||
      X509_set_subject_name(cert.get(), subject) != 1 || X509_set_issuer_name(cert.get(), issuer) != 1)
    return openssl_error("building a certificate");
  JLIS_RETURN_IF_ERROR(set_public_key(cert.get(), public_key));
  return cert;
}

// Adds an extension from its OpenSSL configuration text ("critical,digitalSignature").
Status add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return openssl_error("adding a certificate extension");
  return Status::ok();
}

Status sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) return openssl_error("signing a certificate");
  return Status::ok();
}

// certificatePolicies with one policy OID (built directly: the configuration parser wants a
// database for this extension).
Status add_policy(X509* cert, const char* oid) {
  using PoliciesPtr = std::unique_ptr<CERTIFICATEPOLICIES, OpensslDeleter<CERTIFICATEPOLICIES_free>>;
  PoliciesPtr policies(CERTIFICATEPOLICIES_new());
  POLICYINFO* info = POLICYINFO_new();
  if (!policies || !info) {
    POLICYINFO_free(info);
    return openssl_error("allocating certificatePolicies");
  }
  info->policyid = OBJ_txt2obj(oid, 1);
  if (info->policyid == nullptr || sk_POLICYINFO_push(policies.get(), info) == 0) {
    POLICYINFO_free(info);
    return openssl_error("building certificatePolicies");
  }
  if (X509_add1_ext_i2d(cert, NID_certificate_policies, policies.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return openssl_error("adding certificatePolicies");
  return Status::ok();
}

}  // namespace build

using namespace build;

namespace {

constexpr const char* kJlisOu = "Japan Agency for Local Authority Information Systems";

const char* ca_ou(CertificateKind kind) {
  return kind == CertificateKind::signature ? "JPKI for digital signature" : "JPKI for user authentication";
}

const char* policy_oid(CertificateKind kind, Device device) {
  if (kind == CertificateKind::signature)
    return device == Device::card ? "1.2.392.200149.8.5.1.1.10" : "1.2.392.200149.8.5.1.1.30";
  return device == Device::card ? "1.2.392.200149.8.5.1.3.10" : "1.2.392.200149.8.5.1.3.30";
}

Result<X509NamePtr> ca_name(CertificateKind kind, bool test_hierarchy) {
  X509NamePtr name(X509_NAME_new());
  if (!name) return openssl_error("allocating a name");
  JLIS_RETURN_IF_ERROR(add_entry(name.get(), "C", "JP"));
  JLIS_RETURN_IF_ERROR(add_entry(name.get(), "O", test_hierarchy ? "JPKI-TEST" : "JPKI"));
  JLIS_RETURN_IF_ERROR(add_entry(name.get(), "OU", ca_ou(kind)));
  JLIS_RETURN_IF_ERROR(add_entry(name.get(), "OU", kJlisOu));
  return name;
}

}  // namespace

std::string_view kind_name(CertificateKind kind) {
  return kind == CertificateKind::signature ? "signature" : "authentication";
}

Result<CertificateKind> parse_kind(std::string_view text) {
  if (text == "signature") return CertificateKind::signature;
  if (text == "authentication") return CertificateKind::authentication;
  return invalid_argument("a certificate kind is \"signature\" or \"authentication\"");
}

std::string_view device_name(Device device) { return device == Device::card ? "card" : "smartphone"; }

const std::string& certified_address(const registry::Resident& r) {
  return r.status == registry::ResidentStatus::abroad && !r.address_abroad.empty() ? r.address_abroad
                                                                                   : r.person.address;
}

Result<BasicFourValues> basic_four_values(const registry::Resident& r) {
  BasicFourValues v;
  v.name = r.person.name;
  v.name_substitute = fold_variants(r.person.name);
  v.sex = r.person.sex == registry::Sex::male ? "1" : "2";
  JLIS_ASSIGN_OR_RETURN(EraDate era, to_era(r.person.date_of_birth));
  std::string ymd = r.person.date_of_birth.to_iso();
  ymd.erase(std::remove(ymd.begin(), ymd.end(), '-'), ymd.end());
  v.date_of_birth = std::to_string(era_digit(era.era)) + ymd;
  v.address = certified_address(r);
  v.address_substitute = fold_variants(v.address);
  return v;
}

std::string issuance_identifier(std::string_view serial_hex, int64_t not_before) {
  const Date day = Date::from_days((not_before + 9 * 3600) / 86400);  // in Japan
  std::string ymd = day.to_iso();
  ymd.erase(std::remove(ymd.begin(), ymd.end(), '-'), ymd.end());
  std::string digest = sha256_hex(serial_hex).substr(0, 16);
  for (char& c : digest) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return ymd + digest;
}

Result<std::string> new_serial() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return openssl_error("drawing a serial number");
  raw[0] &= 0x7f;
  if ((raw[0] >> 4) == 0) raw[0] |= 0x10;
  return to_hex(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

namespace build {
Result<X509Ptr> self_signed_ca(X509_NAME* name, int64_t not_before, int64_t not_after, EVP_PKEY* key) {
  JLIS_ASSIGN_OR_RETURN(std::string serial, new_serial());
  JLIS_ASSIGN_OR_RETURN(auto cert, skeleton(serial, not_before, not_after, name, name, {key}));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  JLIS_RETURN_IF_ERROR(sign(cert.get(), key));
  return cert;
}
}  // namespace build

Result<X509Ptr> make_ca_certificate(const CaCertificateParams& p) {
  JLIS_ASSIGN_OR_RETURN(auto name, ca_name(p.kind, p.test_hierarchy));
  return build::self_signed_ca(name.get(), p.not_before, p.not_after, p.key);
}

Result<X509Ptr> make_responder_certificate(const ResponderCertificateParams& p) {
  X509NamePtr subject(X509_NAME_dup(X509_get_subject_name(p.ca)));
  if (!subject) return openssl_error("copying a name");
  JLIS_RETURN_IF_ERROR(add_entry(subject.get(), "CN", "OCSP Responder"));
  JLIS_ASSIGN_OR_RETURN(auto cert, skeleton(p.serial_hex, p.not_before, p.not_after, subject.get(),
                                            X509_get_subject_name(p.ca), {p.responder_public_key}));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), p.ca, NID_key_usage, "critical,digitalSignature"));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), p.ca, NID_ext_key_usage, "OCSPSigning"));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), p.ca, NID_id_pkix_OCSP_noCheck, "ignored"));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), p.ca, NID_subject_key_identifier, "hash"));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), p.ca, NID_authority_key_identifier, "keyid:always"));
  JLIS_RETURN_IF_ERROR(sign(cert.get(), p.ca_key));
  return cert;
}

namespace {

std::string crl_name_of(const EndEntityParams& p) {
  return p.crl_name.empty() ? std::string(kind_name(p.kind)) : p.crl_name;
}

// What the parts of one CA, kind, device and public URL are cached under: the CA's name (`issuer`,
// its DER: what a partition's name extends) and key identifier (what the authorityKeyIdentifier
// copies), not its address: another CA (a new generation, another test's) may be allocated where an
// earlier one was.
Result<std::string> extension_cache_key(const EndEntityParams& p, const std::string& issuer) {
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(p.ca);
  if (ski == nullptr) return internal_error("the CA certificate has no subject key identifier");
  return issuer + "|" +
         std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                     static_cast<size_t>(ASN1_STRING_length(ski))) +
         "|" + std::string(kind_name(p.kind)) + "|" + std::string(device_name(p.device)) + "|" + p.public_url + "|" +
         p.crl_name;
}

// The DER of the extensions every end-entity certificate of one CA, kind, device and public URL
// carries before the holder's own, in the certificate's order: made by OpenSSL once per thread
// and kept under `key` (extension_cache_key).
Result<const std::string*> shared_extensions(const EndEntityParams& p, const std::string& key) {
  thread_local std::map<std::string, std::string> cache;
  if (auto it = cache.find(key); it != cache.end()) return &it->second;
  std::string out;
  auto append = [&](const X509_EXTENSION* ext) -> Status {
    JLIS_ASSIGN_OR_RETURN(std::string der, der_of<i2d_X509_EXTENSION>(ext));
    out += der;
    return Status::ok();
  };
  auto conf = [&](int nid, const std::string& value) -> Status {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, p.ca, nullptr, nullptr, nullptr, 0);
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext) return openssl_error("making a certificate extension");
    return append(ext.get());
  };
  if (p.kind == CertificateKind::signature) {
    JLIS_RETURN_IF_ERROR(conf(NID_key_usage, "critical,digitalSignature,nonRepudiation"));
  } else {
    JLIS_RETURN_IF_ERROR(conf(NID_key_usage, "critical,digitalSignature"));
    JLIS_RETURN_IF_ERROR(conf(NID_ext_key_usage, "clientAuth"));
  }
  {
    // certificatePolicies through a scratch certificate (the configuration parser wants a
    // database for this extension).
    X509Ptr scratch(X509_new());
    if (!scratch) return openssl_error("allocating a certificate");
    JLIS_RETURN_IF_ERROR(add_policy(scratch.get(), policy_oid(p.kind, p.device)));
    JLIS_RETURN_IF_ERROR(append(X509_get_ext(scratch.get(), 0)));
  }
  // The signature certificate's distribution point is its municipality's partition: its own.
  if (p.kind == CertificateKind::authentication)
    JLIS_RETURN_IF_ERROR(conf(NID_crl_distribution_points, "URI:" + p.public_url + "/crl/" + crl_name_of(p) + ".crl"));
  JLIS_RETURN_IF_ERROR(conf(NID_info_access, "OCSP;URI:" + p.public_url + "/ocsp"));
  JLIS_RETURN_IF_ERROR(conf(NID_authority_key_identifier, "keyid:always"));
  if (cache.size() > 64) cache.clear();  // public URLs or CAs changed many times: start over
  return &(cache[key] = std::move(out));
}

// The DER of the cRLDistributionPoints extension naming the partition of the certificate's
// municipality, made once per municipality on each thread and kept under `ca_key`
// (extension_cache_key) and the municipality.
Result<const std::string*> partition_distribution_point(const EndEntityParams& p, const std::string& ca_key) {
  thread_local std::map<std::string, std::string> cache;
  const std::string key = ca_key + "|" + p.locality->prefecture + "|" + std::string(p.municipality_code);
  if (auto it = cache.find(key); it != cache.end()) return &it->second;
  JLIS_ASSIGN_OR_RETURN(X509NamePtr name, crl_partition_name(p.ca, p.locality->prefecture, p.municipality_code));
  JLIS_ASSIGN_OR_RETURN(CrlDistPointsPtr points,
                        distribution_points(name.get(), crl_partition_url(p.public_url, crl_name_of(p),
                                                                                 p.municipality_code)));
  X509ExtensionPtr ext(X509V3_EXT_i2d(NID_crl_distribution_points, 0, points.get()));
  if (!ext) return openssl_error("making cRLDistributionPoints");
  JLIS_ASSIGN_OR_RETURN(std::string der, der_of<i2d_X509_EXTENSION>(ext.get()));
  if (cache.size() > 4096) cache.clear();  // more than Japan's municipalities: CAs or URLs changed
  return &(cache[key] = std::move(der));
}

// The DER the JPKI profile fixes (X.690; RFC 5280 §4.1 and §4.2.1; PKCS #1 for the algorithms).
using namespace std::string_view_literals;
constexpr std::string_view kVersion3 = "\xa0\x03\x02\x01\x02"sv;  // [0] INTEGER 2
constexpr std::string_view kSha256WithRsa = "\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00"sv;
constexpr std::string_view kRsaEncryption = "\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00"sv;
constexpr std::string_view kCountryJp = "\x31\x0b\x30\x09\x06\x03\x55\x04\x06\x13\x02JP"sv;  // C=JP, PrintableString
constexpr std::string_view kLocalityName = "\x06\x03\x55\x04\x07"sv;
constexpr size_t kLocalityBound = 128;  // romaji, one octet a character
constexpr std::string_view kCommonName = "\x06\x03\x55\x04\x03"sv;
constexpr std::string_view kSubjectAltName = "\x06\x03\x55\x1d\x11"sv;
constexpr std::string_view kSubjectKeyIdentifier = "\x06\x03\x55\x1d\x0e"sv;

// One relative distinguished name of one attribute, its value a UTF8String (as OpenSSL's default
// string mask, utf8only, encodes every field of ours but the country).
std::string rdn(std::string_view type, std::string_view value) {
  const std::string attribute = std::string(type) + der::element(der::kUtf8String, value);
  return der::element(der::kSet, der::element(der::kSequence, attribute));
}

// subjectAltName with the basic four as otherName UTF8String values under kBasicFourArc.1 to .6.
Result<std::string> basic_four_extension(const BasicFourValues& v) {
  static const std::vector<std::string> kOids = [] {
    std::vector<std::string> out;
    for (int i = 1; i <= 6; ++i) {
      std::unique_ptr<ASN1_OBJECT, OpensslDeleter<ASN1_OBJECT_free>> oid(
          OBJ_txt2obj((std::string(kBasicFourArc) + "." + std::to_string(i)).c_str(), 1));
      if (!oid) break;
      auto der = der_of<i2d_ASN1_OBJECT>(oid.get());
      if (!der.ok()) break;
      out.push_back(std::move(*der));
    }
    return out;
  }();
  if (kOids.size() != 6) return internal_error("encoding the basic four's object identifiers");
  const std::string* values[] = {&v.name, &v.name_substitute, &v.sex, &v.date_of_birth, &v.address,
                                 &v.address_substitute};
  std::string names;
  for (size_t i = 0; i < 6; ++i)  // otherName: [0] { type-id, [0] EXPLICIT value }
    der::append(names, der::kContext0,
                kOids[i] + der::element(der::kContext0, der::element(der::kUtf8String, *values[i])));
  return der::element(der::kSequence, std::string(kSubjectAltName) +
                                          der::element(der::kOctetString, der::element(der::kSequence, names)));
}

// subjectKeyIdentifier: SHA-1 of the subjectPublicKey's bits (RFC 5280 §4.2.1.2 (1), OpenSSL's "hash").
Result<std::string> key_identifier_extension(std::string_view rsa_public_key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(rsa_public_key.data(), rsa_public_key.size(), md, &length, EVP_sha1(), nullptr) != 1)
    return openssl_error("hashing the public key");
  const std::string id = der::element(der::kOctetString, std::string_view(reinterpret_cast<char*>(md), length));
  return der::element(der::kSequence, std::string(kSubjectKeyIdentifier) + der::element(der::kOctetString, id));
}

}  // namespace

Result<X509NamePtr> crl_partition_name(const X509* ca, std::string_view prefecture, std::string_view municipality_code) {
  X509NamePtr name(X509_NAME_dup(X509_get_subject_name(ca)));
  if (!name) return openssl_error("copying a name");
  JLIS_RETURN_IF_ERROR(add_entry(name.get(), "OU", "CRL Distribution Points"));
  JLIS_RETURN_IF_ERROR(add_entry(name.get(), "OU", std::string(prefecture)));
  JLIS_RETURN_IF_ERROR(add_entry(name.get(), "CN", std::string(municipality_code)));
  return name;
}

std::string crl_partition_url(std::string_view public_url, std::string_view crl_name,
                              std::string_view municipality_code) {
  return std::string(public_url) + "/crl/" + std::string(crl_name) + "/" + std::string(municipality_code) + ".crl";
}

Result<X509Ptr> make_link_certificate(const LinkCertificateParams& p) {
  if (p.issuer_ca == nullptr || p.issuer_key == nullptr || p.subject_ca == nullptr)
    return internal_error("a link certificate needs both generations");
  JLIS_ASSIGN_OR_RETURN(std::string serial, new_serial());
  JLIS_ASSIGN_OR_RETURN(auto cert, skeleton(serial, p.not_before, p.not_after, X509_get_subject_name(p.subject_ca),
                                            X509_get_subject_name(p.issuer_ca), {X509_get0_pubkey(p.subject_ca)}));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), p.issuer_ca, NID_basic_constraints, "critical,CA:TRUE"));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), p.issuer_ca, NID_key_usage, "critical,keyCertSign,cRLSign"));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), p.issuer_ca, NID_subject_key_identifier, "hash"));
  JLIS_RETURN_IF_ERROR(add_ext(cert.get(), p.issuer_ca, NID_authority_key_identifier, "keyid:always"));
  JLIS_RETURN_IF_ERROR(sign(cert.get(), p.issuer_key));
  return cert;
}

Result<std::string> make_end_entity_der(const EndEntityParams& p) {
  if (p.kind == CertificateKind::signature &&
      (p.basic_four == nullptr || p.locality == nullptr || p.municipality_code.size() != 6))
    return internal_error("a signature certificate needs the basic four, its locality and its municipality code");
  if (p.kind == CertificateKind::signature &&
      (p.locality->prefecture.size() > kLocalityBound || p.locality->municipality.size() > kLocalityBound))
    return internal_error("a locality name is at most 128 characters (RFC 5280 ub-locality-name)");
  if (p.ca == nullptr || p.ca_key == nullptr || EVP_PKEY_get_base_id(p.ca_key) != EVP_PKEY_RSA)
    return internal_error("an end-entity certificate is signed by its CA's RSA key");
  // The CA's name as its certificate encodes it (OpenSSL keeps those octets: a copy).
  JLIS_ASSIGN_OR_RETURN(std::string issuer, der_of<i2d_X509_NAME>(X509_get_subject_name(p.ca)));
  JLIS_ASSIGN_OR_RETURN(const std::string cache_key, extension_cache_key(p, issuer));
  JLIS_ASSIGN_OR_RETURN(const std::string* shared, shared_extensions(p, cache_key));
  JLIS_ASSIGN_OR_RETURN(std::string serial, der::integer_content(p.serial_hex));
  JLIS_ASSIGN_OR_RETURN(std::string from, der::time_element(p.not_before));
  JLIS_ASSIGN_OR_RETURN(std::string until, der::time_element(p.not_after));
  std::string subject(kCountryJp);
  if (p.kind == CertificateKind::signature)
    subject += rdn(kLocalityName, p.locality->prefecture) + rdn(kLocalityName, p.locality->municipality);
  subject += rdn(kCommonName, issuance_identifier(p.serial_hex, p.not_before));
  std::string extensions = *shared;
  if (p.kind == CertificateKind::signature) {
    JLIS_ASSIGN_OR_RETURN(const std::string* point, partition_distribution_point(p, cache_key));
    JLIS_ASSIGN_OR_RETURN(std::string four, basic_four_extension(*p.basic_four));
    extensions += *point + four;
  }
  JLIS_ASSIGN_OR_RETURN(std::string key_id, key_identifier_extension(p.rsa_public_key));
  extensions += key_id;

  std::string body = std::string(kVersion3) + der::element(der::kInteger, serial) + std::string(kSha256WithRsa);
  body += issuer + der::element(der::kSequence, from + until) + der::element(der::kSequence, subject);
  body += der::element(der::kSequence, std::string(kRsaEncryption) +
                                           der::element(der::kBitString, '\0' + std::string(p.rsa_public_key)));
  der::append(body, der::kContext3, der::element(der::kSequence, extensions));
  const std::string tbs = der::element(der::kSequence, body);
  JLIS_ASSIGN_OR_RETURN(std::string signature, der::sha256_signature(p.ca_key, {tbs}));
  return der::element(der::kSequence,
                      tbs + std::string(kSha256WithRsa) + der::element(der::kBitString, '\0' + signature));
}

}  // namespace jlis::pki
