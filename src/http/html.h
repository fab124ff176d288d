// Server-rendered HTML pages (the verification page, the kiosk screen, the console): escaping, and
// the answer with a strict Content-Security-Policy. Our pages carry one <style> element and at most
// one <script> (the console's refresh), which the policy allows by their SHA-256 and nothing else;
// scripts fetch from the page's own origin only, forms post to it only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "http/server.h"

namespace jlis::http {

// `text` with & < > " ' as character references: safe in element content and quoted attributes.
std::string html_escape(std::string_view text);

// The Content-Security-Policy of a page whose only style is `css` (the exact text of its <style>)
// and only script `script` (the exact text of its <script>; none when empty):
// default-src 'none'; style-src 'sha256-…'; [script-src 'sha256-…'; connect-src 'self';]
// form-action 'self'; frame-ancestors 'none'; base-uri 'none'.
std::string page_policy(std::string_view css, std::string_view script = {});

// A form post that another site's page sent, as the browser says it: `Sec-Fetch-Site: cross-site`,
// or an `Origin` other than this server's own (http://<Host>), the opaque "null" included. Pages
// refuse these (a browser always names the origin of a POST; a page's own forms name its own).
bool foreign_post(const Request& req);

// The fields of an application/x-www-form-urlencoded body (a form's POST), in order, a name
// repeated for each checked box; nullopt for a malformed percent-encoding.
std::optional<std::multimap<std::string, std::string>> parse_form(std::string_view body);

// A text/html answer with `policy` (page_policy), nosniff, no caching, and a referrer (and so an
// Origin on form posts) only to the page's own origin.
Response html_response(int status, std::string body, const std::string& policy);

}  // namespace jlis::http
