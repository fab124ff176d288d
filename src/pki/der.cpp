#include "pki/der.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace jlis::pki::der {

void append_header(std::string& out, unsigned char identifier, size_t content_length) {
  out.push_back(static_cast<char>(identifier));
  if (content_length < 0x80) {
    out.push_back(static_cast<char>(content_length));
    return;
  }
  int octets = 0;
  for (size_t n = content_length; n != 0; n >>= 8) ++octets;
  out.push_back(static_cast<char>(0x80 | octets));
  for (int i = octets - 1; i >= 0; --i) out.push_back(static_cast<char>((content_length >> (8 * i)) & 0xff));
}

void append(std::string& out, unsigned char identifier, std::string_view content) {
  append_header(out, identifier, content.size());
  out.append(content);
}

std::string element(unsigned char identifier, std::string_view content) {
  std::string out;
  out.reserve(content.size() + 6);
  append(out, identifier, content);
  return out;
}

Result<std::string> integer_content(std::string_view hex) {
  if (hex.empty() || hex.size() > 40 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
    return invalid_argument("a serial number is 1 to 40 hexadecimal digits");
  auto digit = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string bytes;
  size_t i = 0;
  if (hex.size() % 2 == 1) bytes.push_back(static_cast<char>(digit(hex[i++])));
  for (; i < hex.size(); i += 2) bytes.push_back(static_cast<char>(digit(hex[i]) << 4 | digit(hex[i + 1])));
  bytes.erase(0, std::min(bytes.find_first_not_of('\0'), bytes.size() - 1));  // minimal, zero stays one octet
  if (static_cast<unsigned char>(bytes[0]) & 0x80) bytes.insert(bytes.begin(), '\0');
  return bytes;
}

Result<std::string> time_element(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  if (::gmtime_r(&t, &tm) == nullptr || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
    return invalid_argument("a certificate's time is between the years 0 and 9999");
  const int year = tm.tm_year + 1900;
  const bool utc = year >= 1950 && year < 2050;
  char text[64];  // 15 used; room for what the compiler cannot bound
  std::snprintf(text, sizeof text, "%0*d%02d%02d%02d%02d%02dZ", utc ? 2 : 4, utc ? year % 100 : year, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return element(utc ? kUtcTime : kGeneralizedTime, text);
}

Result<EvpMdCtxPtr> sha256_signer(EVP_PKEY* key) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1)
    return openssl_error("preparing to sign");
  return ctx;
}

Result<std::string> sha256_signature(EVP_PKEY* key, const std::vector<std::string_view>& pieces) {
  JLIS_ASSIGN_OR_RETURN(EvpMdCtxPtr signer, sha256_signer(key));
  for (std::string_view piece : pieces)
    if (EVP_DigestSignUpdate(signer.get(), piece.data(), piece.size()) != 1) return openssl_error("signing");
  // Signed once: finalised in place, not on a copy of the context kept for more input.
  EVP_MD_CTX_set_flags(signer.get(), EVP_MD_CTX_FLAG_FINALISE);
  size_t length = static_cast<size_t>(EVP_PKEY_get_size(key));
  std::string signature(length, '\0');
  if (EVP_DigestSignFinal(signer.get(), reinterpret_cast<unsigned char*>(signature.data()), &length) != 1)
    return openssl_error("signing");
  signature.resize(length);
  return signature;
}

}  // namespace jlis::pki::der
