#include "http/html.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "http/router.h"

namespace jlis::http {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// 'sha256-<base64>' of `text`, as a policy source.
std::string hash_source(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  unsigned char base64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
  EVP_EncodeBlock(base64, digest, SHA256_DIGEST_LENGTH);
  return "'sha256-" + std::string(reinterpret_cast<const char*>(base64)) + "'";
}

}  // namespace

std::string page_policy(std::string_view css, std::string_view script) {
  std::string policy = "default-src 'none'; style-src " + hash_source(css) + "; ";
  if (!script.empty()) policy += "script-src " + hash_source(script) + "; connect-src 'self'; ";
  return policy + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
}

bool foreign_post(const Request& req) {
  if (req.header("sec-fetch-site") == "cross-site") return true;
  const std::string origin = req.header("origin");
  return !origin.empty() && origin != "http://" + req.header("host");
}

std::optional<std::multimap<std::string, std::string>> parse_form(std::string_view body) {
  std::multimap<std::string, std::string> fields;
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = internal::percent_decode(pair.substr(0, eq), true);
    auto value = internal::percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!name || !value) return std::nullopt;
    fields.emplace(std::move(*name), std::move(*value));
  }
  return fields;
}

Response html_response(int status, std::string body, const std::string& policy) {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  r.headers = {{"Content-Security-Policy", policy},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "same-origin"},
               {"Cache-Control", "no-store"}};
  return r;
}

}  // namespace jlis::http
