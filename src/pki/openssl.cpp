#include "pki/openssl.h"

#include "common/digest.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <ctime>

namespace jlis::pki {

Status openssl_error(std::string_view what, Code code) {
  std::string message(what);
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    message += ": ";
    message += buf;
  }
  ERR_clear_error();
  return Status(code, message);
}

namespace {

BioPtr memory_bio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

}  // namespace

Result<X509Ptr> x509_from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return openssl_error("not a DER certificate", Code::invalid_argument);
  return cert;
}

Result<X509Ptr> x509_from_pem(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return openssl_error("not a PEM certificate", Code::invalid_argument);
  return cert;
}

Result<std::string> x509_der(X509* cert) { return der_of<i2d_X509>(cert); }

Result<std::string> x509_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return openssl_error("writing a PEM certificate");
  return bio_string(bio.get());
}

Result<EvpPkeyPtr> public_key_from_pem(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  EvpPkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return openssl_error("not a PEM public key", Code::invalid_argument);
  return key;
}

Result<EvpPkeyPtr> public_key_from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key) return openssl_error("not a DER public key", Code::invalid_argument);
  return key;
}

Result<std::string> public_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return openssl_error("writing a PEM public key");
  return bio_string(bio.get());
}

Result<EvpPkeyPtr> private_key_from_pem(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return openssl_error("not a PEM private key", Code::invalid_argument);
  return key;
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return openssl_error("writing a PEM private key");
  return bio_string(bio.get());
}

namespace {

// One DER TLV at `p` (OpenSSL's ASN1_get_object): its tag and content; advances `p` past it.
bool next_tlv(const unsigned char*& p, long& remaining, int expected_tag, const unsigned char*& content, long& length) {
  int tag = 0, cls = 0;
  const unsigned char* q = p;
  const int ret = ASN1_get_object(&q, &length, &tag, &cls, remaining);
  if ((ret & 0x80) != 0 || tag != expected_tag || cls != V_ASN1_UNIVERSAL) return false;
  content = q;
  remaining -= (q - p) + length;
  p = q + length;
  return remaining >= 0;
}

}  // namespace

namespace {

// The modulus and exponent INTEGERs of an RSAPublicKey ::= SEQUENCE { modulus, publicExponent }.
bool rsa_integers(std::string_view key, const unsigned char*& n, long& n_len, const unsigned char*& e, long& e_len) {
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  long remaining = static_cast<long>(key.size()), length = 0;
  const unsigned char* content = nullptr;
  if (!next_tlv(p, remaining, V_ASN1_SEQUENCE, content, length) || remaining != 0) return false;
  p = content;
  remaining = length;
  return next_tlv(p, remaining, V_ASN1_INTEGER, n, n_len) && next_tlv(p, remaining, V_ASN1_INTEGER, e, e_len) &&
         remaining == 0;
}

}  // namespace

Result<RsaPublicKeyDer> rsa_public_key_der_from_spki(std::string_view spki, int bits) {
  const auto bad = invalid_argument("not an RSA-" + std::to_string(bits) + " public key (SubjectPublicKeyInfo)");
  // SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier rsaEncryption NULL, BIT STRING }
  static const unsigned char kRsaAlgorithm[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                                0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
  const auto* p = reinterpret_cast<const unsigned char*>(spki.data());
  long remaining = static_cast<long>(spki.size()), length = 0;
  const unsigned char* content = nullptr;
  if (!next_tlv(p, remaining, V_ASN1_SEQUENCE, content, length) || remaining != 0) return bad;
  p = content;
  remaining = length;
  if (remaining < static_cast<long>(sizeof kRsaAlgorithm) || std::memcmp(p, kRsaAlgorithm, sizeof kRsaAlgorithm) != 0)
    return bad;
  p += sizeof kRsaAlgorithm;
  remaining -= sizeof kRsaAlgorithm;
  if (!next_tlv(p, remaining, V_ASN1_BIT_STRING, content, length) || remaining != 0 || length < 2 || content[0] != 0)
    return bad;
  RsaPublicKeyDer out{std::string(spki), std::string(reinterpret_cast<const char*>(content + 1),
                                                      static_cast<size_t>(length - 1))};
  const unsigned char *n = nullptr, *e = nullptr;
  long n_len = 0, e_len = 0;
  if (!rsa_integers(out.rsa_public_key, n, n_len, e, e_len)) return bad;
  // A positive modulus of exactly `bits` bits: a zero sign byte, then a byte with its top bit set.
  if (n_len != bits / 8 + 1 || n[0] != 0 || (n[1] & 0x80) == 0) return bad;
  // A positive, odd exponent without a superfluous leading zero byte.
  if (e_len < 1 || e_len > 8 || (e[0] & 0x80) != 0 || (e_len > 1 && e[0] == 0 && (e[1] & 0x80) == 0) || (e[e_len - 1] & 1) == 0) return bad;
  return out;
}

Result<RsaPublicKeyDer> rsa_public_key_der_from_pem(std::string_view pem, int bits) {
  const auto bad = invalid_argument("not an RSA-" + std::to_string(bits) + " public key (PEM SubjectPublicKeyInfo)");
  constexpr std::string_view kBegin = "-----BEGIN PUBLIC KEY-----", kEnd = "-----END PUBLIC KEY-----";
  const size_t begin = pem.find(kBegin), end = pem.find(kEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) return bad;
  auto der = base64_decode(pem.substr(begin + kBegin.size(), end - begin - kBegin.size()));
  if (!der.ok()) return bad;
  auto out = rsa_public_key_der_from_spki(*der, bits);
  if (!out.ok()) return bad;
  return out;
}

Result<std::string> rsa_public_key_from_pem(std::string_view pem, int bits) {
  JLIS_ASSIGN_OR_RETURN(auto der, rsa_public_key_der_from_pem(pem, bits));
  return std::move(der.rsa_public_key);
}

Result<RsaPublicNumbers> rsa_public_numbers(std::string_view key) {
  const unsigned char *n = nullptr, *e = nullptr;
  long n_len = 0, e_len = 0;
  if (!rsa_integers(key, n, n_len, e, e_len)) return invalid_argument("not an RSAPublicKey");
  RsaPublicNumbers out{BignumPtr(BN_bin2bn(n, static_cast<int>(n_len), nullptr)),
                       BignumPtr(BN_bin2bn(e, static_cast<int>(e_len), nullptr))};
  if (!out.n || !out.e) return openssl_error("reading an RSA key");
  return out;
}

Result<EvpPkeyPtr> generate_rsa(int bits) {
  EVP_PKEY* raw = EVP_RSA_gen(static_cast<unsigned>(bits));
  if (raw == nullptr) return openssl_error("generating an RSA key");
  return EvpPkeyPtr(raw);
}

std::string serial_hex(const ASN1_INTEGER* serial) {
  const std::string out = to_hex(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)),
                                                  static_cast<size_t>(ASN1_STRING_length(serial))));
  size_t first = out.find_first_not_of('0');
  if (first == std::string::npos) return "0";
  return out.substr(first);
}

Result<Asn1IntegerPtr> serial_from_hex(std::string_view hex) {
  if (hex.empty() || hex.size() > 40 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
    return invalid_argument("a serial number is 1 to 40 hexadecimal digits");
  BIGNUM* bn = nullptr;
  const std::string text(hex);
  if (BN_hex2bn(&bn, text.c_str()) == 0) return openssl_error("parsing a serial number", Code::invalid_argument);
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn, nullptr));
  BN_free(bn);
  if (!serial) return openssl_error("converting a serial number");
  return serial;
}

Result<Asn1TimePtr> asn1_time(int64_t unix_seconds) {
  Asn1TimePtr t(ASN1_TIME_set(nullptr, static_cast<time_t>(unix_seconds)));
  if (!t) return openssl_error("encoding a time");
  // ASN1_TIME_set already picks UTCTime for 1950..2049 and GeneralizedTime otherwise.
  return t;
}

Result<int64_t> unix_seconds(const ASN1_TIME* time) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return openssl_error("reading a time", Code::invalid_argument);
  return static_cast<int64_t>(timegm(&tm));
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  // One pass with a table: this decodes every OCSP GET request (find_first_not_of over the
  // alphabet costs a memchr per character).
  static constexpr auto kClass = [] {
    std::array<uint8_t, 256> c{};  // 0 invalid, 1 alphabet or '=', 2 skipped whitespace
    for (const char* p = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="; *p != '\0'; ++p)
      c[static_cast<unsigned char>(*p)] = 1;
    c['\n'] = c['\r'] = c[' '] = 2;
    return c;
  }();
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    const uint8_t k = kClass[static_cast<unsigned char>(c)];
    if (k == 0) return invalid_argument("not base64");
    if (k == 1) clean += c;
  }
  if (clean.size() % 4 != 0) return invalid_argument("not base64");
  std::string out(3 * clean.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) return invalid_argument("not base64");
  size_t pad = 0;
  for (size_t i = clean.size(); i > 0 && clean[i - 1] == '='; --i) ++pad;
  if (pad > 2) return invalid_argument("not base64");
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace jlis::pki
