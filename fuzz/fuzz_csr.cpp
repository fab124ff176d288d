// PKCS#10 certification requests (PEM or DER) as a client would send them.
//
// pki::parse_certification_request is being added on another branch. Until it is merged, this
// target fuzzes the OpenSSL path the project uses for keys: the request read from PEM or DER, its
// public key taken out, written as PEM and read back by the project's public_key_from_pem and
// rsa_public_key_from_pem, and the self-signature verified. Wiring: replace parse_request() with a
// call to pki::parse_certification_request(text).
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "pki/openssl.h"

namespace {

void parse_request(std::string_view text) {
  jlis::pki::X509ReqPtr req;
  if (text.find("-----BEGIN") != std::string_view::npos) {
    jlis::pki::BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) return;
    req.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(text.size())));
  }
  if (!req) return;
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr) return;
  (void)X509_REQ_verify(req.get(), key);
  auto pem = jlis::pki::public_key_pem(key);
  if (!pem.ok()) return;
  (void)jlis::pki::public_key_from_pem(*pem);
  (void)jlis::pki::rsa_public_key_from_pem(*pem, 2048);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  parse_request(std::string_view(reinterpret_cast<const char*>(data), size));
  ERR_clear_error();
  return 0;
}
