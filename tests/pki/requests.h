// Certification requests as a card or a phone makes them (pki/request.h), for the tests of
// renewal and smartphone issuance: PKCS#10 signed by the new key, the CA's challenge in
// challengePassword. Header-only (tests/pki and tests/e2e include it).
#pragma once

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include "pki/openssl.h"

namespace jlis::pki::testing {

struct RequestSpec {
  EVP_PKEY* key = nullptr;          // the key certified
  EVP_PKEY* signer = nullptr;       // null: `key` signs (a proof of possession)
  std::string challenge = {};       // empty: no challengePassword
  const EVP_MD* digest = EVP_sha256();
};

inline std::string request_der(const RequestSpec& spec) {
  X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("card"), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), spec.key);
  if (!spec.challenge.empty())
    X509_REQ_add1_attr_by_NID(req.get(), NID_pkcs9_challengePassword, MBSTRING_ASC,
                              reinterpret_cast<const unsigned char*>(spec.challenge.data()),
                              static_cast<int>(spec.challenge.size()));
  X509_REQ_sign(req.get(), spec.signer ? spec.signer : spec.key, spec.digest);
  unsigned char* out = nullptr;
  const int len = i2d_X509_REQ(req.get(), &out);
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len > 0 ? len : 0));
  OPENSSL_free(out);
  return der;
}

inline std::string request_pem(const RequestSpec& spec) {
  const std::string der = request_der(spec);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// RSA PKCS#1 v1.5 with SHA-256 over `data`, as a card signs.
inline std::string sign_bytes(EVP_PKEY* key, const std::string& data) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  sig.resize(len);
  return sig;
}

}  // namespace jlis::pki::testing
