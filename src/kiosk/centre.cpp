#include "kiosk/centre.h"

#include <fcntl.h>
#include <unistd.h>
#include <unicode/unistr.h>

#include <cctype>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "http/client.h"
#include "municipal/issuance.h"
#include "pki/card_login.h"
#include "pki/openssl.h"

namespace jlis::kiosk {
namespace {

using nlohmann::json;

constexpr std::string_view kIncidentPrefix = "incident: ";

// A text entry (`/Subject`, `/Keywords`) of the document information dictionary of a PDF as cairo
// writes it: a literal string, or a hexadecimal UTF-16BE one with its byte-order mark. The last
// occurrence counts (as with an incremental update). nullopt when absent or not of these forms.
std::optional<std::string> pdf_info_text(const std::string& pdf, std::string_view key) {
  const std::string tag = "/" + std::string(key);
  size_t at = pdf.rfind(tag);
  if (at == std::string::npos) return std::nullopt;
  at += tag.size();
  while (at < pdf.size() && (pdf[at] == ' ' || pdf[at] == '\n' || pdf[at] == '\r')) ++at;
  if (at >= pdf.size()) return std::nullopt;
  std::string out;
  if (pdf[at] == '(') {
    for (size_t i = at + 1; i < pdf.size(); ++i) {
      if (pdf[i] == ')') return out;
      if (pdf[i] == '\\') {
        if (++i >= pdf.size() || std::string_view("()\\").find(pdf[i]) == std::string_view::npos) return std::nullopt;
      } else if (pdf[i] == '(') {
        return std::nullopt;
      }
      out.push_back(pdf[i]);
    }
    return std::nullopt;
  }
  if (pdf[at] != '<') return std::nullopt;
  const size_t end = pdf.find('>', at);
  if (end == std::string::npos) return std::nullopt;
  std::string bytes;
  std::string hex;
  for (size_t i = at + 1; i < end; ++i)
    if (std::isxdigit(static_cast<unsigned char>(pdf[i]))) hex.push_back(pdf[i]);
  if (hex.size() % 2) return std::nullopt;
  for (size_t i = 0; i < hex.size(); i += 2) bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  if (bytes.size() < 2 || static_cast<unsigned char>(bytes[0]) != 0xFE || static_cast<unsigned char>(bytes[1]) != 0xFF ||
      bytes.size() % 2)
    return std::nullopt;
  std::u16string units;
  for (size_t i = 2; i < bytes.size(); i += 2)
    units.push_back(static_cast<char16_t>((static_cast<unsigned char>(bytes[i]) << 8) | static_cast<unsigned char>(bytes[i + 1])));
  // A lone surrogate becomes U+FFFD, which no holder's name contains.
  icu::UnicodeString(units.data(), static_cast<int32_t>(units.size())).toUTF8String(out);
  return out;
}

}  // namespace

Status incident_status(std::string message) { return internal_error(std::string(kIncidentPrefix) + message); }
bool is_incident(const Status& s) { return s.code() == Code::internal && s.message().rfind(kIncidentPrefix, 0) == 0; }

struct Centre::Impl {
  Impl(store::Pool& p, store::Writer& w, registry::Registry& r, pki::CertificateAuthority& c, CentreOptions o)
      : pool(p), writer(w), registry(r), ca(c), options(std::move(o)), sessions(p, w, r, options.sessions) {}

  store::Pool& pool;
  store::Writer& writer;
  registry::Registry& registry;
  pki::CertificateAuthority& ca;
  CentreOptions options;
  Sessions sessions;

  pki::CardAuthenticator authenticator{ca};  // the card's log-in (pki/card_login.h)

  std::mutex mu;
  std::condition_variable wake;
  std::deque<std::function<void()>> queue;  // guarded by mu
  bool stopping = false;                    // guarded by mu
  std::string default_base_url;             // guarded by mu
  std::vector<std::thread> threads;
  std::thread sweeper;  // Sessions::expire_held every second, then the returns
  std::condition_variable sweep_wake;  // the sweeper's own: post() wakes only relay threads
  bool returning = false;              // guarded by mu: a return_documents() is queued or running

  void sweep() {
    std::unique_lock lock(mu);
    while (!stopping) {
      sweep_wake.wait_for(lock, std::chrono::seconds(1));
      if (stopping) break;
      lock.unlock();
      // A relay lasts at most its two timeouts: a session requesting longer past its deadline has none.
      const auto relay = std::chrono::ceil<std::chrono::seconds>(options.connect_timeout + options.relay_timeout);
      (void)sessions.expire_held(relay.count());  // a failure is retried a second later
      lock.lock();
      if (!returning) {
        returning = true;
        queue.push_back([this] { return_documents(); });
        wake.notify_one();
      }
    }
  }

  // Returns to their issuance servers the documents of ended sessions that never reached a terminal
  // (Sessions::unreturned), on a relay thread: each municipality asked records what it issued for
  // the session, but the number its terminal fetched, undelivered. A municipality that does not
  // answer is asked again at the next sweep; an unknown one (404: a discarded answer's number that
  // was no municipality's) has nothing to take back.
  void return_documents();
  Result<std::string> base_url(const LocalGovernmentCode& municipality);

  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        task = std::move(queue.front());
        queue.pop_front();
      }
      task();
    }
  }

  http::ClientRequest call(std::string method, std::string url) const {
    http::ClientRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.headers = {{"Authorization", "Bearer " + options.token}};
    r.connect_timeout = options.connect_timeout;
    r.timeout = options.relay_timeout;
    return r;
  }
};

void Centre::Impl::return_documents() {
  auto due = sessions.unreturned();
  // A municipality that failed three times in a row in this round is not asked again in it: one that
  // is down costs the round a few timeouts, not one per session.
  std::map<std::string, int> failures;
  for (const Unreturned& u : due.ok() ? *due : std::vector<Unreturned>{}) {
    bool all = true;
    for (const std::string& code : u.municipalities) {
      auto municipality = LocalGovernmentCode::parse(code);
      if (!municipality.ok()) continue;  // not a number any issuance server gave: nothing to take back
      std::optional<http::ClientResponse> answer;
      if (auto base = failures[code] < 3 ? base_url(*municipality) : unavailable(code + " failed"); base.ok()) {
        http::ClientRequest r =
            call("POST", *base + "/v1/issuance/" + code + "/sessions/" + u.session_id + "/returned");
        r.body = u.delivered.empty() ? "{}" : json{{"delivered", u.delivered}}.dump();
        if (auto a = http::fetch(r); a.ok()) answer = std::move(*a);
      }
      if (!answer || (answer->status != 200 && answer->status != 404)) {
        ++failures[code];
        all = false;
      } else {
        failures[code] = 0;
      }
    }
    if (all) (void)sessions.returned(u);
  }
  std::lock_guard lock(mu);
  returning = false;
}

Centre::Centre(store::Pool& pool, store::Writer& writer, registry::Registry& registry, pki::CertificateAuthority& ca,
               CentreOptions options)
    : impl_(std::make_unique<Impl>(pool, writer, registry, ca, std::move(options))) {
  impl_->default_base_url = impl_->options.default_base_url;
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i) impl_->threads.emplace_back([this] { impl_->run(); });
  impl_->sweeper = std::thread([this] { impl_->sweep(); });
}

Centre::~Centre() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->sweep_wake.notify_all();
  for (auto& t : impl_->threads) t.join();
  impl_->sweeper.join();
}

Sessions& Centre::sessions() { return impl_->sessions; }

void Centre::set_default_base_url(std::string url) {
  std::lock_guard lock(impl_->mu);
  impl_->default_base_url = std::move(url);
}

void Centre::post(std::function<void()> task) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->queue.push_back(std::move(task));
  }
  impl_->wake.notify_one();
}

Result<json> Centre::log_in(std::string_view secret, const std::string& session_id, const std::string& certificate_pem,
                            const std::string& signature_base64) {
  JLIS_ASSIGN_OR_RETURN(std::string challenge, impl_->sessions.challenge(secret, session_id));
  JLIS_ASSIGN_OR_RETURN(VerifiedLogin login, impl_->authenticator.verify(challenge, certificate_pem, signature_base64,
                                                                          impl_->sessions.now()));
  JLIS_ASSIGN_OR_RETURN(Holder holder, impl_->sessions.log_in(secret, session_id, login));

  JLIS_ASSIGN_OR_RETURN(std::string base, base_url(holder.municipality));
  JLIS_ASSIGN_OR_RETURN(http::ClientResponse offer,
                        http::fetch(impl_->call("GET", base + "/v1/issuance/" + holder.municipality.str() + "/offer")));
  json body = json::parse(offer.body, nullptr, false);
  if (offer.status != 200 || !body.is_object() || !body.contains("documents") || !body["documents"].is_array())
    return unavailable("the municipality's issuance server did not answer its offer (HTTP " +
                       std::to_string(offer.status) + ")");
  json documents = json::array();
  for (const auto& d : body["documents"])
    if (d.is_object() && d.contains("type") && d["type"].is_string() && d.contains("fee") && d["fee"].is_number_integer())
      documents.push_back({{"type", d["type"]}, {"fee", d["fee"]}});
  return json{{"session_id", session_id},
              {"municipality_code", holder.municipality.str()},
              {"documents", documents}};
}

Result<DocumentIssued> Centre::request_document(std::string_view secret, const std::string& session_id,
                                                const json& body) {
  // The request, checked before anything is claimed (400 for what the caller got wrong).
  json request = {};
  int copies = 1;
  std::string type;
  std::optional<LocalGovernmentCode> issuer;
  for (const auto& [k, v] : body.items()) {
    if (k == "type" && v.is_string()) {
      type = v.get<std::string>();
    } else if (k == "municipality" && v.is_string()) {
      auto code = LocalGovernmentCode::parse(v.get<std::string>());
      if (!code.ok()) return invalid_argument("municipality must be a 6-digit municipality code");
      issuer = *code;
    } else if (k == "copies" && v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= 10) {
      copies = v.get<int>();
    } else if (k == "options" && v.is_object()) {
      for (const auto& [ok, ov] : v.items()) {
        if (ok != "members" && ok != "items" && ok != "individual" && ok != "fiscal_year")
          return invalid_argument("unknown option '" + ok + "' (members, items, individual, fiscal_year)");
        request[ok] = ov;
      }
    } else {
      return invalid_argument("a document request is {\"type\", \"options\"?, \"copies\"? (1 to 10), "
                              "\"municipality\"?}: '" + k + "' is not right");
    }
  }
  if (type.empty()) return invalid_argument("type is required");
  request["type"] = type;
  request["session"] = session_id;
  request["certificate_serial"] = "0";
  JLIS_RETURN_IF_ERROR(municipal::issuance_request_from_json(request).status());

  // Where the holder lives, unless the resident named another municipality (the 本籍地 that holds
  // their 戸籍 and 附票): that municipality's server decides whether it holds anything of theirs.
  JLIS_ASSIGN_OR_RETURN(Holder holder, impl_->sessions.begin_request(secret, session_id, issuer));
  request["certificate_serial"] = holder.certificate_serial;
  const LocalGovernmentCode& asked = holder.asked;
  auto relay = [&]() -> Result<http::ClientResponse> {
    JLIS_ASSIGN_OR_RETURN(std::string base, base_url(asked));
    http::ClientRequest call = impl_->call("POST", base + "/v1/issuance/" + asked.str() + "/documents");
    call.body = request.dump();
    return http::fetch(call);
  };
  Result<http::ClientResponse> answer = relay();
  if (!answer.ok() || (answer->status != 200 && answer->status != 403)) {
    // It may have issued all the same (its answer lost on the way): returned once the session ends.
    JLIS_RETURN_IF_ERROR(impl_->sessions.failed(session_id, asked));
    if (!answer.ok()) return unavailable("the municipality's issuance server did not answer: " + answer.status().message());
    return unavailable("the municipality's issuance server answered HTTP " + std::to_string(answer->status));
  }
  if (answer->status == 403) {
    JLIS_RETURN_IF_ERROR(impl_->sessions.failed(session_id));
    json refusal = json::parse(answer->body, nullptr, false);
    // A 403 without a refusal is the centre's own fault (its token, its role): not the resident's.
    if (!refusal.is_object() || !refusal.contains("refusal") || !refusal["refusal"].is_object() ||
        !refusal["refusal"].contains("reason") || !refusal["refusal"]["reason"].is_string())
      return unavailable("the municipality's issuance server does not accept the centre (HTTP 403)");
    return refused(refusal["refusal"]["reason"].get<std::string>(),
                   refusal["refusal"].value("message", std::string("the municipality refused the document")));
  }
  // The document must be the holder's: the subject the issuance server states, and the PDF's own
  // Subject (the holder's name as the register has it) and Keywords (its issuance number).
  // Anything else is an incident, and nothing leaves.
  const std::string number = answer->header("x-issuance-number");
  const std::string subject = answer->header("x-subject-resident");
  std::string detail;
  if (subject.empty()) detail = "the answer names no subject";
  else if (subject != holder.resident_code.str()) detail = "the stated subject is not the session's card holder";
  else if (answer->body.rfind("%PDF-", 0) != 0 || answer->content_type.rfind("application/pdf", 0) != 0)
    detail = "the answer is not a PDF";
  else if (pdf_info_text(answer->body, "Keywords") != number) detail = "the PDF is not the issuance it is said to be";
  if (detail.empty()) {
    auto resident = impl_->registry.get(holder.resident_code);
    if (!resident.ok()) {
      JLIS_RETURN_IF_ERROR(impl_->sessions.failed(session_id));
      return resident.status();
    }
    if (pdf_info_text(answer->body, "Subject") != resident->person.name)
      detail = "the PDF's subject is not the session's card holder";
  }
  if (!detail.empty()) {
    JLIS_RETURN_IF_ERROR(impl_->sessions.incident(session_id, asked, number, detail));
    return incident_status("the municipality's answer was not the card holder's document: it was discarded and "
                           "the session ended");
  }
  int64_t fee = 0;
  const std::string fee_text = answer->header("x-fee");
  if (!fee_text.empty() && fee_text.size() < 10 && fee_text.find_first_not_of("0123456789") == std::string::npos)
    fee = std::stoll(fee_text);
  RelayedDocument doc{number, type, fee * copies, copies, std::move(answer->body)};
  JLIS_RETURN_IF_ERROR(impl_->sessions.issued(session_id, std::move(doc)));
  return DocumentIssued{session_id, number, type, fee * copies, copies};
}

Result<std::string> Centre::base_url(const LocalGovernmentCode& municipality) { return impl_->base_url(municipality); }

Result<std::string> Centre::Impl::base_url(const LocalGovernmentCode& municipality) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool.acquire());
  std::optional<std::string> url;
  JLIS_RETURN_IF_ERROR(conn->query("SELECT base_url FROM kiosk_municipal_servers WHERE municipality_code = ?",
                                   {municipality.str()}, [&](const store::Row& r) {
                                     url = r.text(0);
                                     return false;
                                   }));
  if (url) return *url;
  std::lock_guard lock(mu);
  if (default_base_url.empty()) return unavailable("the centre knows no URL of the municipal issuance servers");
  return default_base_url;
}

Status Centre::set_municipal_server(store::Writer& writer, const LocalGovernmentCode& municipality,
                                    const std::string& base_url) {
  if (base_url.rfind("http://", 0) != 0 || base_url.size() > 200 || base_url.find_first_of(" \r\n\t") != std::string::npos)
    return invalid_argument("the issuance server's base URL is http://HOST:PORT (at most 200 characters)");
  std::string url = base_url;
  while (url.size() > 7 && url.back() == '/') url.pop_back();
  return writer.run([&](store::Connection& conn) -> Status {
    JLIS_RETURN_IF_ERROR(
        conn.execute("DELETE FROM kiosk_municipal_servers WHERE municipality_code = ?", {municipality.str()}).status());
    return conn
        .execute("INSERT INTO kiosk_municipal_servers (municipality_code, base_url, set_at) VALUES (?, ?, ?)",
                 {municipality.str(), url, now_iso8601()})
        .status();
  });
}

Result<std::string> Centre::ensure_centre_token(const std::string& data_dir, auth::Directory& directory) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(data_dir) / "kiosk";
  const fs::path path = dir / "centre-token";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return internal_error("cannot create " + dir.string());
  fs::permissions(dir, fs::perms::owner_all, ec);
  {
    std::ifstream in(path);
    std::string token;
    if (in && std::getline(in, token) && !token.empty()) return token;
  }
  JLIS_ASSIGN_OR_RETURN(std::string token, directory.create_token(auth::Role::issuance_centre, "kiosk-centre",
                                                                  "kiosk centre (jlis serve)",
                                                                  {std::nullopt, "operator:jlis-serve"}));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return internal_error("cannot create " + path.string());
  const std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok) return internal_error("cannot write " + path.string());
  return token;
}

std::string Centre::metrics() const { return impl_->sessions.metrics(); }

}  // namespace jlis::kiosk
