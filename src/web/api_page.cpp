#include "web/api_page.h"

#include <yaml-cpp/yaml.h>

#include <map>
#include <vector>

#include "http/html.h"

namespace jlis::web {
namespace {

using http::html_escape;

constexpr std::string_view kApiPageStyle =
    "body{font-family:'Noto Sans CJK JP',sans-serif;margin:0;background:#f4f6f8;color:#1a1a1a;line-height:1.55}"
    "header{background:#0b4f8a;color:#fff;padding:1rem 2rem}header h1{margin:0;font-size:1.6rem}"
    "header a{color:#fff}main{max-width:64rem;margin:1.5rem auto;padding:0 1.5rem}"
    "section{background:#fff;border:1px solid #c8ccd0;padding:.75rem 1.25rem;margin-bottom:1rem}"
    "h2{font-size:1.35rem;margin:1.5rem 0 .5rem}h3{font-size:1.1rem;margin:.25rem 0}h4{margin:.75rem 0 .25rem}"
    "code{font-size:.92em;background:#eef1f4;padding:0 .2em}.method{font-weight:bold;color:#fff;background:#0b4f8a;"
    "padding:.1em .5em}table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;"
    "padding:.3rem .5rem;border-top:1px solid #d5d9dd}a{color:#0b4f8a}a:focus{outline:3px solid #c25e00}"
    "nav ul{columns:2;margin:0}nav li{break-inside:avoid;margin:.15rem 0}.muted{color:#3d4247}";

// Markdown-ish text as HTML: paragraphs at blank lines, `code` spans; everything else as text.
std::string prose(const std::string& text) {
  std::string out, paragraph;
  auto flush = [&] {
    if (paragraph.empty()) return;
    std::string escaped = html_escape(paragraph), p;
    bool in_code = false;
    for (char c : escaped) {
      if (c == '`') {
        p += in_code ? "</code>" : "<code>";
        in_code = !in_code;
      } else {
        p += c;
      }
    }
    if (in_code) p += "</code>";
    out += "<p>" + p + "</p>";
    paragraph.clear();
  };
  size_t at = 0;
  while (at <= text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string line = text.substr(at, end - at);
    if (line.find_first_not_of(" \t") == std::string::npos) {
      flush();
    } else {
      paragraph += (paragraph.empty() ? "" : " ") + line;
    }
    at = end + 1;
  }
  flush();
  return out;
}

std::string text_of(const YAML::Node& n, const char* key) {
  return n && n.IsMap() && n[key] && n[key].IsScalar() ? n[key].as<std::string>() : "";
}

// A schema in a few words: its $ref's name, or its type (with format, enum, items).
std::string schema_words(const YAML::Node& s) {
  if (!s || !s.IsMap()) return "";
  if (s["$ref"]) {
    const std::string ref = s["$ref"].as<std::string>();
    const std::string name = ref.substr(ref.rfind('/') + 1);
    return "<a href=\"#schema-" + html_escape(name) + "\">" + html_escape(name) + "</a>";
  }
  for (const char* combinator : {"oneOf", "anyOf", "allOf"}) {
    if (!s[combinator] || !s[combinator].IsSequence()) continue;
    std::string words;
    for (const auto& part : s[combinator]) words += (words.empty() ? "" : " | ") + schema_words(part);
    return words;
  }
  std::string type = text_of(s, "type");
  if (type == "array" && s["items"]) return "array of " + schema_words(s["items"]);
  if (!text_of(s, "format").empty()) type += " (" + html_escape(text_of(s, "format")) + ")";
  if (s["enum"] && s["enum"].IsSequence()) {
    std::string values;
    for (const auto& v : s["enum"]) values += (values.empty() ? "" : ", ") + ("<code>" + html_escape(v.Scalar()) + "</code>");
    type += ": " + values;
  }
  return type.empty() ? "object" : html_escape(type);
}

// Follows a local $ref (#/components/...) once.
YAML::Node resolve(const YAML::Node& root, const YAML::Node& n) {
  if (!n || !n.IsMap() || !n["$ref"]) return n;
  YAML::Node at = root;
  const std::string ref = n["$ref"].as<std::string>();
  size_t from = 2;  // after "#/"
  while (from < ref.size() && at) {
    const size_t slash = std::min(ref.find('/', from), ref.size());
    at = at[ref.substr(from, slash - from)];
    from = slash + 1;
  }
  return at ? at : n;
}

std::string content_words(const YAML::Node& content) {
  std::string out;
  if (!content || !content.IsMap()) return out;
  for (const auto& entry : content) {
    out += (out.empty() ? "" : "<br>") + ("<code>" + html_escape(entry.first.as<std::string>()) + "</code>");
    const std::string schema = schema_words(entry.second["schema"]);
    if (!schema.empty()) out += " " + schema;
  }
  return out;
}

std::string who_may_call(const YAML::Node& root, const YAML::Node& op) {
  const YAML::Node security = op["security"] ? op["security"] : root["security"];
  if (!security || !security.IsSequence() || security.size() == 0) return "anyone (no token)";
  std::string out;
  for (const auto& requirement : security)
    for (const auto& scheme : requirement) out += (out.empty() ? "" : " or ") + ("<code>" + html_escape(scheme.first.as<std::string>()) + "</code>");
  return out;
}

std::string operation(const YAML::Node& root, const std::string& path, const std::string& method,
                      const YAML::Node& op, const YAML::Node& path_item) {
  const std::string id = text_of(op, "operationId");
  std::string h = "<section id=\"" + html_escape(id) + "\"><h3><span class=\"method\">" + html_escape(method) +
                  "</span> <code>" + html_escape(path) + "</code></h3><p><strong>" + html_escape(text_of(op, "summary")) +
                  "</strong></p>" + prose(text_of(op, "description")) + "<p class=\"muted\">Who may call: " +
                  who_may_call(root, op) + "</p>";
  std::vector<YAML::Node> parameters;
  for (const YAML::Node& list : {path_item["parameters"], op["parameters"]})
    if (list && list.IsSequence())
      for (const auto& p : list) parameters.push_back(resolve(root, p));
  if (!parameters.empty()) {
    h += "<h4>Parameters</h4><table><thead><tr><th scope=\"col\">name</th><th scope=\"col\">in</th><th "
         "scope=\"col\">schema</th><th scope=\"col\">description</th></tr></thead><tbody>";
    for (const auto& p : parameters)
      h += "<tr><td><code>" + html_escape(text_of(p, "name")) + "</code>" +
           (p["required"] && p["required"].as<bool>() ? " (required)" : "") + "</td><td>" + html_escape(text_of(p, "in")) +
           "</td><td>" + schema_words(p["schema"]) + "</td><td>" + prose(text_of(p, "description")) + "</td></tr>";
    h += "</tbody></table>";
  }
  if (const YAML::Node body = resolve(root, op["requestBody"]); body && body.IsMap())
    h += "<h4>Request body</h4>" + prose(text_of(body, "description")) + "<p>" + content_words(body["content"]) + "</p>";
  if (const YAML::Node responses = op["responses"]; responses && responses.IsMap()) {
    h += "<h4>Responses</h4><table><thead><tr><th scope=\"col\">status</th><th scope=\"col\">description</th><th "
         "scope=\"col\">content</th></tr></thead><tbody>";
    for (const auto& r : responses) {
      const YAML::Node answer = resolve(root, r.second);
      h += "<tr><td>" + html_escape(r.first.as<std::string>()) + "</td><td>" + prose(text_of(answer, "description")) +
           "</td><td>" + content_words(answer["content"]) + "</td></tr>";
    }
    h += "</tbody></table>";
  }
  return h + "</section>";
}

std::string schema_section(const std::string& name, const YAML::Node& s) {
  std::string h = "<section id=\"schema-" + html_escape(name) + "\"><h3>" + html_escape(name) + "</h3>" +
                  prose(text_of(s, "description"));
  if (s["properties"] && s["properties"].IsMap()) {
    std::map<std::string, bool> required;
    if (s["required"] && s["required"].IsSequence())
      for (const auto& r : s["required"]) required[r.as<std::string>()] = true;
    h += "<table><thead><tr><th scope=\"col\">property</th><th scope=\"col\">schema</th><th scope=\"col\">description"
         "</th></tr></thead><tbody>";
    for (const auto& p : s["properties"])
      h += "<tr><td><code>" + html_escape(p.first.as<std::string>()) + "</code>" +
           (required.count(p.first.as<std::string>()) ? " (required)" : "") + "</td><td>" + schema_words(p.second) +
           "</td><td>" + prose(text_of(p.second, "description")) + "</td></tr>";
    h += "</tbody></table>";
  } else {
    h += "<p>" + schema_words(s) + "</p>";
  }
  return h + "</section>";
}

}  // namespace

Result<std::string> render_api_page(std::string_view openapi_yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(openapi_yaml));
  } catch (const YAML::Exception& e) {
    return invalid_argument(std::string("the API description does not parse: ") + e.what());
  }
  if (!root.IsMap() || !root["openapi"] || !root["paths"] || !root["paths"].IsMap())
    return invalid_argument("the API description is not an OpenAPI document");
  try {
    const YAML::Node info = root["info"];
    std::string h = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
                    "content=\"width=device-width, initial-scale=1\"><title>" +
                    html_escape(text_of(info, "title")) + "</title><style>" + std::string(kApiPageStyle) +
                    "</style></head><body><header><h1>" + html_escape(text_of(info, "title")) + " " +
                    html_escape(text_of(info, "version")) + "</h1><p><a href=\"/\">OpenJLIS</a> · <a "
                    "href=\"/openapi.yaml\">openapi.yaml</a> (for tools)</p></header><main><section>" +
                    prose(text_of(info, "description")) + "</section>";
    // The operations by their first tag, tags in the document's order.
    std::vector<std::string> tags;
    if (root["tags"] && root["tags"].IsSequence())
      for (const auto& t : root["tags"]) tags.push_back(text_of(t, "name"));
    std::map<std::string, std::vector<std::string>> sections, entries;
    static const char* const kMethods[] = {"get", "put", "post", "delete", "patch", "head", "options"};
    for (const auto& path : root["paths"]) {
      const std::string p = path.first.as<std::string>();
      for (const char* m : kMethods) {
        const YAML::Node op = path.second[m];
        if (!op) continue;
        std::string tag = op["tags"] && op["tags"].IsSequence() && op["tags"].size() > 0 ? op["tags"][0].as<std::string>()
                                                                                      : "other";
        if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(tag);
        std::string method = m;
        for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        sections[tag].push_back(operation(root, p, method, op, path.second));
        entries[tag].push_back("<li><a href=\"#" + html_escape(text_of(op, "operationId")) + "\"><code>" + method + " " +
                               html_escape(p) + "</code></a> " + html_escape(text_of(op, "summary")) + "</li>");
      }
    }
    h += "<nav aria-label=\"Operations\"><section><h2>Operations</h2>";
    for (const auto& tag : tags) {
      if (!entries.count(tag)) continue;
      h += "<h3>" + html_escape(tag) + "</h3><ul>";
      for (const auto& e : entries[tag]) h += e;
      h += "</ul>";
    }
    h += "<p><a href=\"#schemas\">Schemas</a></p></section></nav>";
    for (const auto& tag : tags) {
      if (!sections.count(tag)) continue;
      h += "<h2>" + html_escape(tag) + "</h2>";
      for (const auto& s : sections[tag]) h += s;
    }
    h += "<h2 id=\"schemas\">Schemas</h2>";
    if (root["components"] && root["components"]["schemas"] && root["components"]["schemas"].IsMap())
      for (const auto& s : root["components"]["schemas"]) h += schema_section(s.first.as<std::string>(), s.second);
    return h + "</main></body></html>\n";
  } catch (const YAML::Exception& e) {
    return invalid_argument(std::string("the API description is not as OpenAPI says: ") + e.what());
  }
}

Status add_api_page(http::Server& server, std::string_view openapi_yaml) {
  JLIS_ASSIGN_OR_RETURN(std::string page, render_api_page(openapi_yaml));
  const std::string policy = http::page_policy(kApiPageStyle);
  server.route("GET", "/api", [page = std::move(page), policy](const http::Request&) {
    return http::html_response(200, page, policy);
  });
  return Status::ok();
}

}  // namespace jlis::web
