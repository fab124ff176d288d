// Public keys as clients send them (card keys at handover, renewal, smartphone issuance):
// pki::rsa_public_key_from_pem (the CA's own SubjectPublicKeyInfo reader), public_key_from_pem
// and public_key_from_der (src/pki/openssl.h), and the PEM writer on what they accept.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pki/openssl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)jlis::pki::rsa_public_key_from_pem(text, 2048);
  if (auto key = jlis::pki::public_key_from_pem(text); key.ok()) (void)jlis::pki::public_key_pem(key->get());
  if (auto key = jlis::pki::public_key_from_der(text); key.ok()) (void)jlis::pki::public_key_pem(key->get());
  return 0;
}
