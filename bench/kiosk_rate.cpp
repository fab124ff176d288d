// Kiosk documents per second (issue 10 §4), in two modes:
//
//   kiosk_rate end-to-end --centre URL --terminals FILE --holders FILE [--seconds S] [--pin 1234]
//                         [--server-pid PID]
//     N kiosk terminals at once against a running `jlis serve`, one thread each, over HTTP as a
//     terminal talks to the centre (src/kiosk/routes.h, as `jlis kiosk simulate` does): open a
//     session, the card signs the challenge, log in (certificate and signature: the centre checks
//     the signature, the chain and the status by OCSP), ask for a 住民票の写し (juminhyo, one
//     copy: the centre relays to the municipality's issuance server, which records, signs and
//     renders it), fetch the PDF, confirm the print; then the next session, until S seconds pass.
//     `--terminals`: one credential file (`jlis kiosk terminal add --output`) a line, one thread
//     each; `--holders`: lines "CARD_FILE<TAB>RESIDENT_CODE_BODY<TAB>NAME" (a `jlis card virtual`
//     file and its holder), terminal i playing holder i (so at least as many holders as terminals).
//     The card's signature (RSA-2048, the card file's key) is made on the terminal's thread: it is
//     client-side work, done on the same two cores as the server here. Every PDF is checked as the
//     centre checks it: a PDF, its /Subject the holder's name, its /Keywords the issuance number the
//     centre answered; one that is not is a failure that ends the run (exit 1).
//     Prints documents/s (documents whose session completed within the S seconds), the session's
//     latency (open to printed) median and p99, each step's median, the load generator's own CPU
//     (cores) and the part of it that signs, and the failures by step and status. With
//     --server-pid (the `jlis serve` process, on this machine), also the server's CPU in the window
//     and the CPU per document, server and load generator: on a shared machine, where the rate
//     follows whatever CPU the others leave, this is the figure that holds still.
//     Each terminal plays one whole session before the clock starts (not counted).
//
//   kiosk_rate ceiling --data DIR --holders FILE [--seconds S] [--threads 2] [--reference DIR]
//     The rendering alone: the same holders' 住民票の写し (applicant only, no optional items: what
//     the kiosk request above asks) built from the data directory's records as the issuance server
//     builds it, each signed once (its QR code), then only render_pdf in a loop on `--threads`
//     threads (default 2: both cores), for S seconds. Prints documents/s, the render's median and
//     p99, and the CPU per document. The data directory is read before the clock starts and closed
//     again.
//
// Output lines start with "kiosk_rate" and end with the rate, for bench/kiosk_throughput.sh.
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "cli/app.h"
#include "http/client.h"
#include "kiosk/terminals.h"
#include "kiosk/virtual_card.h"
#include "municipal/document_content.h"
#include "municipal/pdf.h"
#include "municipal/verification.h"
#include "pki/openssl.h"

namespace {

using namespace jlis;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Holder {
  std::string card_file;
  uint64_t resident_body = 0;
  std::string name;
};

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<Holder> read_holders(const std::string& path) {
  std::vector<Holder> out;
  for (const std::string& line : lines_of(path)) {
    const size_t a = line.find('\t'), b = line.find('\t', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    out.push_back({line.substr(0, a), std::stoull(line.substr(a + 1, b - a - 1)), line.substr(b + 1)});
  }
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The CPU seconds (user and system) that process `pid` used so far; 0 when it cannot be read.
double cpu_seconds_of(long pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A text entry of a PDF's document information as cairo writes it: a hexadecimal UTF-16BE string
// with its byte-order mark, or a literal string. "" when absent. (The centre's own reader is
// internal to it; this one is the terminal's, as in tests/kiosk/proof_test.cpp.)
std::string pdf_info(const std::string& pdf, const std::string& key) {
  const size_t k = pdf.rfind("/" + key + " ");
  if (k == std::string::npos) return "";
  const size_t i = k + key.size() + 2;
  if (i >= pdf.size()) return "";
  if (pdf[i] == '(') return pdf.substr(i + 1, pdf.find(')', i) - i - 1);
  if (pdf[i] != '<') return "";
  const std::string hex = pdf.substr(i + 1, pdf.find('>', i) - i - 1);
  std::vector<uint32_t> units;
  for (size_t h = 0; h + 4 <= hex.size(); h += 4) units.push_back(std::stoul(hex.substr(h, 4), nullptr, 16));
  std::string out;
  for (size_t u = units.empty() || units[0] != 0xFEFF ? 0 : 1; u < units.size(); ++u) {
    uint32_t c = units[u];
    if (c >= 0xD800 && c < 0xDC00 && u + 1 < units.size()) c = 0x10000 + ((c - 0xD800) << 10) + (units[++u] - 0xDC00);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
    } else if (c < 0x10000) {
      out += {static_cast<char>(0xE0 | (c >> 12)), static_cast<char>(0x80 | ((c >> 6) & 0x3F)),
              static_cast<char>(0x80 | (c & 0x3F))};
    } else {
      out += {static_cast<char>(0xF0 | (c >> 18)), static_cast<char>(0x80 | ((c >> 12) & 0x3F)),
              static_cast<char>(0x80 | ((c >> 6) & 0x3F)), static_cast<char>(0x80 | (c & 0x3F))};
    }
  }
  return out;
}

// What one terminal thread saw.
struct TerminalResult {
  int64_t documents = 0;                         // sessions completed within the window
  std::vector<double> session_ms;                // of those
  std::map<std::string, std::vector<double>> step_ms;
  std::map<std::string, int64_t> failures;       // "step HTTP status" → count
  double sign_cpu = 0;                           // seconds of the card's signatures in the window
  std::string fatal;                             // a document that was not the holder's
};

class Terminal {
 public:
  Terminal(std::string base, kiosk::TerminalCredential credential, kiosk::VirtualCard card, Holder holder,
           std::string pin)
      : base_(std::move(base)), credential_(std::move(credential)), card_(std::move(card)), holder_(std::move(holder)),
        pin_(std::move(pin)) {}

  // One whole session; true when a document was fetched and its print confirmed. Records the
  // steps' times and the failures in `out` when `counted`.
  bool session(TerminalResult& out, bool counted) {
    auto step = [&](const char* name, const std::string& method, const std::string& path, const std::string& body,
                    int expected) -> std::optional<http::ClientResponse> {
      http::ClientRequest r;
      r.method = method;
      r.url = base_ + path;
      r.body = body;
      r.headers = {{"Authorization", "Bearer " + credential_.secret}};
      const auto t0 = Clock::now();
      auto answer = http::fetch(r);
      const double ms = ms_since(t0);
      if (!answer.ok() || answer->status != expected) {
        if (counted)
          ++out.failures[std::string(name) + " " + (answer.ok() ? std::to_string(answer->status) : "unreachable")];
        if (answer.ok() && failures_shown_++ < 3)
          std::fprintf(stderr, "kiosk_rate: %s answered %d: %.300s\n", name, answer->status, answer->body.c_str());
        return std::nullopt;
      }
      if (counted) out.step_ms[name].push_back(ms);
      return std::move(*answer);
    };
    auto opened = step("open", "POST", "/v1/kiosk/sessions", "", 201);
    if (!opened) return false;
    const json session = json::parse(opened->body, nullptr, false);
    const std::string path = "/v1/kiosk/sessions/" + session.value("session_id", "");
    auto challenge = pki::base64_decode(session.value("challenge", ""));
    if (!challenge.ok()) return false;
    const double cpu0 = thread_cpu_seconds();
    auto signature = card_.sign(card::CardSecret::authentication_pin, pin_, *challenge);
    if (counted) out.sign_cpu += thread_cpu_seconds() - cpu0;
    if (!signature.ok()) {
      out.fatal = "the card refused: " + signature.status().message();
      return false;
    }
    const std::string login = json{{"certificate", card_.slot(card::CardSecret::authentication_pin)->certificate_pem},
                                   {"signature", pki::base64_encode(*signature)}}
                                  .dump();
    if (!step("login", "POST", path + "/login", login, 200)) return false;
    auto issued = step("document", "POST", path + "/documents", R"({"type":"juminhyo","copies":1})", 201);
    if (!issued) return false;
    const std::string number = json::parse(issued->body, nullptr, false).value("issuance_number", "");
    auto pdf = step("fetch", "GET", path + "/document", "", 200);
    if (!pdf) return false;
    if (pdf->body.rfind("%PDF-", 0) != 0 || pdf_info(pdf->body, "Subject") != holder_.name ||
        pdf_info(pdf->body, "Keywords") != number || number.empty()) {
      out.fatal = "session " + path + ": the PDF is not the holder's document " + number + " (Subject '" +
                  pdf_info(pdf->body, "Subject") + "')";
      return false;
    }
    return step("printed", "POST", path + "/printed", "", 200).has_value();
  }

 private:
  std::string base_;
  kiosk::TerminalCredential credential_;
  kiosk::VirtualCard card_;  // in memory: its tries are never saved (every PIN is right)
  Holder holder_;
  std::string pin_;
  int failures_shown_ = 0;
};

int end_to_end(const std::string& centre, const std::string& terminals_file, const std::string& holders_file,
               double seconds, const std::string& pin, long server_pid) {
  std::string base = centre;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::vector<std::string> credentials = lines_of(terminals_file);
  const std::vector<Holder> holders = read_holders(holders_file);
  if (credentials.empty() || holders.size() < credentials.size()) {
    std::fprintf(stderr, "kiosk_rate: %zu terminals, %zu holders: need at least one holder per terminal\n",
                 credentials.size(), holders.size());
    return 2;
  }
  std::vector<std::unique_ptr<Terminal>> terminals;
  for (size_t i = 0; i < credentials.size(); ++i) {
    auto credential = kiosk::read_credential(credentials[i]);
    auto card = kiosk::VirtualCard::load(holders[i].card_file);
    if (!credential.ok() || !card.ok()) {
      std::fprintf(stderr, "kiosk_rate: %s\n",
                   (credential.ok() ? card.status() : credential.status()).to_string().c_str());
      return 2;
    }
    terminals.push_back(std::make_unique<Terminal>(base, std::move(*credential), std::move(*card), holders[i], pin));
  }
  const size_t n = terminals.size();
  std::vector<TerminalResult> results(n);
  std::atomic<bool> warm_failed{false};
  Clock::time_point start, deadline;
  double cpu_start = 0, server_start = 0, cpu_end = 0, server_end = 0;
  // Every terminal warms up with one session, then the clock starts for all at once.
  std::barrier ready(static_cast<std::ptrdiff_t>(n + 1), [&]() noexcept {
    start = Clock::now();
    deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    cpu_start = process_cpu_seconds();
    server_start = cpu_seconds_of(server_pid);
  });
  std::vector<std::thread> threads;
  // The CPU used within the window, read at the deadline (sessions still in flight: steady state).
  std::thread meter([&] {
    ready.arrive_and_wait();
    std::this_thread::sleep_until(deadline);
    cpu_end = process_cpu_seconds();
    server_end = cpu_seconds_of(server_pid);
  });
  for (size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      TerminalResult warm;
      if (!terminals[i]->session(warm, false)) {
        warm_failed = true;
        if (!warm.fatal.empty()) results[i].fatal = warm.fatal;
      }
      ready.arrive_and_wait();
      if (warm_failed) return;
      TerminalResult& out = results[i];
      while (Clock::now() < deadline && out.fatal.empty()) {
        const auto t0 = Clock::now();
        const bool done = terminals[i]->session(out, true);
        if (done && Clock::now() <= deadline) {
          ++out.documents;
          out.session_ms.push_back(ms_since(t0));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  meter.join();
  const double client_cpu = cpu_end - cpu_start, server_cpu = server_end - server_start;

  TerminalResult all;
  for (auto& r : results) {
    all.documents += r.documents;
    all.session_ms.insert(all.session_ms.end(), r.session_ms.begin(), r.session_ms.end());
    for (auto& [k, v] : r.step_ms) all.step_ms[k].insert(all.step_ms[k].end(), v.begin(), v.end());
    for (auto& [k, v] : r.failures) all.failures[k] += v;
    all.sign_cpu += r.sign_cpu;
    if (all.fatal.empty()) all.fatal = r.fatal;
  }
  if (!all.fatal.empty()) {
    std::fprintf(stderr, "kiosk_rate: %s\n", all.fatal.c_str());
    return 1;
  }
  if (warm_failed) {
    std::fprintf(stderr, "kiosk_rate: a terminal's first session failed\n");
    return 1;
  }
  std::printf("kiosk_rate end-to-end: %zu terminals, %.1f s: %lld documents, session median %.1f ms, p99 %.1f ms;",
              n, seconds, static_cast<long long>(all.documents), percentile(all.session_ms, 0.5),
              percentile(all.session_ms, 0.99));
  std::printf(" steps (median ms):");
  for (const char* s : {"open", "login", "document", "fetch", "printed"})
    std::printf(" %s %.1f", s, percentile(all.step_ms[s], 0.5));
  std::printf("; load generator %.2f cores (card signatures %.2f)", client_cpu / seconds, all.sign_cpu / seconds);
  if (server_pid > 0 && all.documents > 0)
    std::printf("; jlis serve %.2f cores; CPU per document %.1f ms (jlis serve %.1f, load generator %.1f)",
                server_cpu / seconds, 1000 * (server_cpu + client_cpu) / static_cast<double>(all.documents),
                1000 * server_cpu / static_cast<double>(all.documents),
                1000 * client_cpu / static_cast<double>(all.documents));
  int64_t failed = 0;
  for (auto& [k, v] : all.failures) failed += v;
  if (failed) {
    std::printf("; failures:");
    for (auto& [k, v] : all.failures) std::printf(" %s x%lld", k.c_str(), static_cast<long long>(v));
  }
  std::printf("; documents/s %.1f\n", static_cast<double>(all.documents) / seconds);
  return 0;
}

int ceiling(const std::string& data, const std::string& reference, const std::string& holders_file, double seconds,
            int thread_count) {
  const std::vector<Holder> holders = read_holders(holders_file);
  std::vector<std::pair<municipal::Document, municipal::VerificationCode>> documents;
  {
    auto app = cli::App::open(data, reference);
    if (!app.ok()) {
      std::fprintf(stderr, "kiosk_rate: %s\n", app.status().to_string().c_str());
      return 2;
    }
    // Any P-256 key signs the QR codes here: the municipality's key signs the same bytes the same way.
    pki::EvpPkeyPtr key(EVP_EC_gen("P-256"));
    auto conn = (*app)->pool().acquire();
    if (!key || !conn.ok()) return 2;
    const Date today = Date::today();
    int seq = 0;
    for (const Holder& h : holders) {
      // As the issuance server's decision builds a kiosk 住民票の写し (municipal/issuance.cpp): the
      // applicant only, no optional items, the municipality's mayor from its kiosk offer.
      const ResidentCode code = ResidentCode::from_body(h.resident_body);
      auto who = (*app)->registry().get(**conn, code);
      auto household = who.ok() ? (*app)->households().of(**conn, code) : Result<municipal::Household>(who.status());
      if (!household.ok()) {
        std::fprintf(stderr, "kiosk_rate: %s\n", household.status().to_string().c_str());
        return 2;
      }
      auto offer = (*app)->issuance().offer(who->municipality_code);
      const Municipality* m = (*app)->registry().reference().find(who->municipality_code);
      if (!offer.ok() || !m) return 2;
      municipal::Issuer issuer{who->municipality_code, m->name, m->name + "長", offer->mayor_name, ""};
      std::vector<municipal::ResidentSheetPerson> people;
      for (const auto& member : household->members)
        if (member.resident_code == code) people.push_back({*who, member, "", ""});
      char number[40];
      std::snprintf(number, sizeof number, "%s-%d-%07d", who->municipality_code.str().c_str(), today.year(), ++seq);
      municipal::Document doc = municipal::resident_sheet(issuer, today, number, *household, people, {}, false);
      doc.subject = who->person.name;
      auto qr = municipal::make_verification_code(doc, key.get());
      if (!qr.ok()) return 2;
      documents.emplace_back(std::move(doc), std::move(*qr));
    }
  }
  if (documents.empty()) {
    std::fprintf(stderr, "kiosk_rate: no holders in %s\n", holders_file.c_str());
    return 2;
  }
  // One render of each, untimed (fonts and caches loaded as a running server has them).
  for (const auto& [doc, qr] : documents)
    if (!municipal::render_pdf(doc, qr).ok()) return 1;
  std::vector<std::vector<double>> render_ms(thread_count);
  std::vector<int64_t> rendered(thread_count, 0);
  const double cpu_start = process_cpu_seconds();
  double cpu_end = 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); Clock::now() < deadline; i += static_cast<size_t>(thread_count)) {
        const auto t0 = Clock::now();
        auto pdf = municipal::render_pdf(documents[i % documents.size()].first, documents[i % documents.size()].second);
        if (!pdf.ok()) return;
        if (Clock::now() <= deadline) {
          ++rendered[t];
          render_ms[t].push_back(ms_since(t0));
        }
      }
    });
  }
  std::thread meter([&] {
    std::this_thread::sleep_until(deadline);
    cpu_end = process_cpu_seconds();
  });
  for (auto& t : threads) t.join();
  meter.join();
  int64_t total = 0;
  std::vector<double> all;
  for (int t = 0; t < thread_count; ++t) {
    total += rendered[t];
    all.insert(all.end(), render_ms[t].begin(), render_ms[t].end());
  }
  std::printf("kiosk_rate ceiling: render_pdf of %zu holders' juminhyo, %d threads, %.1f s: %lld documents, render "
              "median %.1f ms, p99 %.1f ms; %.2f cores, CPU per document %.1f ms; documents/s %.1f\n",
              documents.size(), thread_count, seconds, static_cast<long long>(total), percentile(all, 0.5),
              percentile(all, 0.99), (cpu_end - cpu_start) / seconds,
              total ? 1000 * (cpu_end - cpu_start) / static_cast<double>(total) : 0.0,
              static_cast<double>(total) / seconds);
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: kiosk_rate end-to-end --centre URL --terminals FILE --holders FILE [--seconds S] [--pin PIN]\n"
               "                             [--server-pid PID]\n"
               "       kiosk_rate ceiling --data DIR --holders FILE [--seconds S] [--threads N] [--reference DIR]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  std::map<std::string, std::string> o = {{"--seconds", "10"}, {"--threads", "2"}, {"--pin", "1234"}};
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0) return usage();
    o[argv[i]] = argv[i + 1];
  }
  const double seconds = std::atof(o["--seconds"].c_str());
  if (seconds <= 0) return usage();
  if (mode == "end-to-end") {
    if (o["--centre"].empty() || o["--terminals"].empty() || o["--holders"].empty()) return usage();
    return end_to_end(o["--centre"], o["--terminals"], o["--holders"], seconds, o["--pin"],
                      std::atol(o["--server-pid"].c_str()));
  }
  if (mode == "ceiling") {
    if (o["--data"].empty() || o["--holders"].empty() || std::atoi(o["--threads"].c_str()) < 1) return usage();
    return ceiling(o["--data"], o["--reference"], o["--holders"], seconds, std::atoi(o["--threads"].c_str()));
  }
  return usage();
}
