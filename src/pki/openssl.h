// OpenSSL objects owned by std::unique_ptr, and the small conversions every part of the CA needs.
// Every OpenSSL failure becomes a Status whose message names the operation and OpenSSL's reason;
// OpenSSL's error strings never carry key material.
#pragma once

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace jlis::pki {

template <auto Free>
struct OpensslDeleter {
  template <class T>
  void operator()(T* p) const { Free(p); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslDeleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpensslDeleter<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpensslDeleter<X509_REQ_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpensslDeleter<X509_CRL_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpensslDeleter<X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpensslDeleter<X509_EXTENSION_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpensslDeleter<ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OpensslDeleter<ASN1_TIME_free>>;
using BioPtr = std::unique_ptr<BIO, OpensslDeleter<BIO_free_all>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslDeleter<EVP_MD_CTX_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpensslDeleter<EVP_PKEY_CTX_free>>;
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, OpensslDeleter<OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, OpensslDeleter<OCSP_RESPONSE_free>>;
using OcspBasicRespPtr = std::unique_ptr<OCSP_BASICRESP, OpensslDeleter<OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, OpensslDeleter<OCSP_CERTID_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpensslDeleter<BN_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, OpensslDeleter<BN_CTX_free>>;
// A stack of certificates it does not own: only the stack is freed.
struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

// A failed Status of `code` "<what>: <OpenSSL's reason>"; clears OpenSSL's error queue.
Status openssl_error(std::string_view what, Code code = Code::internal);

// The DER of an OpenSSL object by its i2d function, e.g. der_of<i2d_TS_RESP>(response).
template <auto I2d, class T>
Result<std::string> der_of(const T* object) {
  const int n = I2d(object, nullptr);
  if (n <= 0) return openssl_error("DER encoding");
  std::string out(static_cast<size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (I2d(object, &p) != n) return openssl_error("DER encoding");
  return out;
}

// Certificates and keys in DER and PEM.
Result<X509Ptr> x509_from_der(std::string_view der);
Result<X509Ptr> x509_from_pem(std::string_view pem);
Result<std::string> x509_der(X509* cert);
Result<std::string> x509_pem(X509* cert);
// A public key (SubjectPublicKeyInfo) from PEM ("-----BEGIN PUBLIC KEY-----") or DER.
Result<EvpPkeyPtr> public_key_from_pem(std::string_view pem);
Result<EvpPkeyPtr> public_key_from_der(std::string_view der);
Result<std::string> public_key_pem(EVP_PKEY* key);
// An unencrypted private key as PEM PKCS#8 ("-----BEGIN PRIVATE KEY-----"), both ways: for keys
// that are not the CA's (simulated cards; the CA's are in keys.h, encrypted).
Result<EvpPkeyPtr> private_key_from_pem(std::string_view pem);
Result<std::string> private_key_pem(EVP_PKEY* key);
// An RSA public key as a certificate carries it: the RSAPublicKey DER (the content of the
// SubjectPublicKeyInfo's BIT STRING), read from PEM SubjectPublicKeyInfo without turning it into an
// EVP_PKEY. OpenSSL 3's decoders and encoders spend about 300 µs per key on that round trip (more
// than the CA's signature), and the CA only copies the key into the certificate. invalid_argument
// unless it is rsaEncryption with a `bits`-bit modulus and an odd exponent.
Result<std::string> rsa_public_key_from_pem(std::string_view pem, int bits = 2048);
// The same read, answering both DER forms: the whole SubjectPublicKeyInfo (what the CA hashes to
// recognise a key certified before) and the RSAPublicKey inside it.
struct RsaPublicKeyDer {
  std::string spki;            // SubjectPublicKeyInfo DER
  std::string rsa_public_key;  // RSAPublicKey DER (the BIT STRING's content)
};
Result<RsaPublicKeyDer> rsa_public_key_der_from_pem(std::string_view pem, int bits = 2048);
Result<RsaPublicKeyDer> rsa_public_key_der_from_spki(std::string_view spki_der, int bits = 2048);
// The modulus and public exponent of an RSAPublicKey DER (as the functions above answer it);
// invalid_argument when it is not one.
struct RsaPublicNumbers {
  BignumPtr n, e;
};
Result<RsaPublicNumbers> rsa_public_numbers(std::string_view rsa_public_key);
// A new RSA key pair of `bits` bits.
Result<EvpPkeyPtr> generate_rsa(int bits = 2048);

// Serial numbers as the API writes them: lower-case hex without leading zeros ("1f3a...").
std::string serial_hex(const ASN1_INTEGER* serial);
// Parses lower-case or upper-case hex (1..40 digits) into an ASN1_INTEGER; invalid_argument otherwise.
Result<Asn1IntegerPtr> serial_from_hex(std::string_view hex);

// Seconds since the Unix epoch as an ASN1_TIME (UTCTime before 2050, GeneralizedTime after, as
// RFC 5280 requires).
Result<Asn1TimePtr> asn1_time(int64_t unix_seconds);
// An ASN1_TIME back to seconds since the epoch.
Result<int64_t> unix_seconds(const ASN1_TIME* time);

// Standard base64 (with padding) and its inverse; nullopt-like failure as invalid_argument.
std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);

}  // namespace jlis::pki
