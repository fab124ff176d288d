// PKCS#10 certification requests (PEM or DER) as a municipality sends them for renewal and
// smartphone issuance: the one parser, pki::parse_certification_request (pki/request.h), then the
// key it reads written as PEM and read back by the project's key readers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <openssl/err.h>

#include "pki/openssl.h"
#include "pki/request.h"

namespace {

void parse_request(std::string_view text) {
  auto request = jlis::pki::parse_certification_request(text);
  if (!request.ok()) return;
  const std::string pem = jlis::pki::spki_pem(request->key.spki);
  (void)jlis::pki::public_key_from_pem(pem);
  (void)jlis::pki::rsa_public_key_from_pem(pem, 2048);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  parse_request(std::string_view(reinterpret_cast<const char*>(data), size));
  ERR_clear_error();
  return 0;
}
