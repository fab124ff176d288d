#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <cerrno>
#include <cstring>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>
#include <atomic>

#include "cli/app.h"
#include "cli/console_sources.h"
#include "cli/openapi_document.h"
#include "common/clock.h"
#include "common/csv.h"
#include "common/digest.h"
#include "store/centre.h"
#include "store/data_dir.h"
#include "http/server.h"
#include "web/api_page.h"
#include "web/console.h"
#include "web/front_page.h"
#include "card/population.h"
#include "card/routes.h"
#include "municipal/commands.h"
#include "pki/commands.h"
#include "pki/lgpki_commands.h"
#include "linkage/commands.h"
#include "linkage/log_stamper.h"
#include "linkage/record_replicas.h"
#include "linkage/routes.h"
#include "pki/routes.h"
#include "kiosk/card_key_pool.h"
#include "kiosk/centre.h"
#include "kiosk/commands.h"
#include "kiosk/routes.h"
#include "kiosk/verify_page.h"
#include "portal/portal.h"
#include "portal/routes.h"
#include "municipal/population.h"
#include "municipal/routes.h"
#include "registry/population.h"
#include "registry/routes.h"

namespace jlis::cli {
namespace {

// A failed command: the message on stderr, exit status 1.
struct Failure {
  Status status;
};

template <class T>
T check(Result<T> r) {
  if (!r.ok()) throw Failure{r.status()};
  return std::move(r).value();
}
void check(Status s) {
  if (!s.is_ok()) throw Failure{std::move(s)};
}

// A progress bar on a terminal; a line every tenth otherwise, so logs stay readable.
class Progress {
 public:
  explicit Progress(std::string unit) : unit_(std::move(unit)), tty_(isatty(STDERR_FILENO)), start_(now()) {}
  void update(int64_t done, int64_t total) {
    double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    double rate = static_cast<double>(done) / std::max(1e-3, now() - start_);
    if (tty_) {
      int filled = static_cast<int>(frac * 30);
      std::fprintf(stderr, "\r[%s%s] %3d%% %lld/%lld %s, %.0f/s", std::string(filled, '#').c_str(),
                   std::string(30 - filled, ' ').c_str(), static_cast<int>(frac * 100),
                   static_cast<long long>(done), static_cast<long long>(total), unit_.c_str(), rate);
      if (done >= total) std::fprintf(stderr, "\n");
    } else if (static_cast<int>(frac * 10) > last_tenth_ || done >= total) {
      last_tenth_ = static_cast<int>(frac * 10);
      std::fprintf(stderr, "%3d%% %lld/%lld %s, %.0f/s\n", static_cast<int>(frac * 100),
                   static_cast<long long>(done), static_cast<long long>(total), unit_.c_str(), rate);
    }
  }

 private:
  static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  std::string unit_;
  bool tty_;
  double start_;
  int last_tenth_ = -1;
};

// An event_id for an operator command: the given one (so a retried command is applied once), or a
// fresh random one.
std::string operator_event_id(const std::string& given, const char* prefix) {
  if (!given.empty()) return given;
  return prefix + check(random_hex(8));
}

// Submits an operator-initiated event for a resident, as the municipality that holds the record.
registry::Applied submit_for_holder(App& app, const std::string& resident, registry::EventType type,
                                    const std::string& event_id, const std::string& reason = "") {
  auto code = ResidentCode::parse(resident);
  if (!code.ok()) throw Failure{invalid_argument("--resident must be an 11-digit resident code")};
  registry::Resident r = check(app.registry().get(*code));
  registry::ChangeEvent e;
  e.event_id = event_id;
  e.type = type;
  e.date = Date::today();
  e.resident_code = *code;
  e.reason = reason;
  return check(app.registry().submit(r.municipality_code, e));
}

// Who runs an operator command, as auth_changes records it: --by NAME, or the user running the CLI.
std::string operator_identity(const std::string& by) {
  if (!by.empty()) return "operator:" + by;
  const struct passwd* pw = ::getpwuid(::geteuid());
  return "operator:" + (pw && pw->pw_name ? std::string(pw->pw_name) : "uid-" + std::to_string(::geteuid()));
}

// The grant of a token-making command: --expires (default one year) and who.
auth::TokenGrant token_grant(const std::string& expires, const std::string& by) {
  auth::TokenGrant g;
  g.by = operator_identity(by);
  if (!expires.empty()) g.expires_at = check(auth::parse_expiry(expires, static_cast<int64_t>(std::time(nullptr))));
  return g;
}

}  // namespace

int run(int argc, char** argv) {
  // Logs go to stderr: stdout carries what a command answers (tokens, CSV, the bound address).
  spdlog::set_default_logger(spdlog::stderr_color_mt("jlis"));
  CLI::App cli{"OpenJLIS: the resident register network, numbering, cards and JPKI", "jlis"};
  cli.require_subcommand(1);
  cli.set_help_all_flag("--help-all", "Every command's help");
  cli.set_version_flag("--version", JLIS_VERSION);
  std::string data, reference;
  auto add_data = [&](CLI::App* c) {
    c->add_option("--data", data, "Data directory")->required();
    c->add_option("--reference", reference, "Reference data directory (default: " + ReferenceData::default_dir() + ")");
  };
  // Who makes a change to tokens or grants (recorded), and when a new token expires.
  std::string by, expires;
  auto add_by = [&](CLI::App* c) {
    c->add_option("--by", by, "Who makes this change, as recorded (default: the user running jlis)");
  };
  auto add_grant = [&](CLI::App* c) {
    add_by(c);
    c->add_option("--expires", expires, "When the token expires: 90d, 1y, 12h, 2w, or a date YYYY-MM-DD (default: 1y)");
  };

  auto* init = cli.add_subcommand("init", "Create a data directory (or upgrade its schema)");
  init->add_option("--data", data, "Data directory")->required();
  bool simulation = false;
  init->add_flag("--simulation", simulation,
                 "A simulation: generated populations may share key pairs (population generate --key-pool), the CA "
                 "is named O=JPKI-TEST and /healthz says \"simulation\": true");
  std::string store_url;
  init->add_option("--store", store_url,
                   "Keep the database in PostgreSQL (postgresql://user@host:port/database) instead of the embedded "
                   "SQLite; keys, CRLs and configuration stay in the data directory");
  std::string sqlite_sync;
  init->add_option("--sqlite-synchronous", sqlite_sync,
                   "SQLite durability, recorded in the data directory: normal (the default: a commit survives a "
                   "crash of jlis) or full (it also survives a power loss; each commit waits for an fsync)")
      ->check(CLI::IsMember({"normal", "full"}, CLI::ignore_case));
  std::string centre_name, read_store;
  init->add_option("--centre", centre_name,
                   "Name this data directory's centre (two centres, docs/OPERATIONS.md): /healthz and `jlis centre "
                   "status` report it; may be given again to change it");
  init->add_option("--read-store", read_store,
                   "With --centre: the PostgreSQL node this centre's read paths (OCSP, CRL, lookups, search) use, "
                   "its local standby (postgresql://user@host:port/database); writes still go to --store");

  auto* centre_cmd = cli.add_subcommand("centre", "The two centres: primary, standby, replication")->require_subcommand(1);
  auto* centre_status = centre_cmd->add_subcommand(
      "status", "Ask each node of the store who is primary, the replication state and lag; exit 1 unless exactly one "
                "node is primary");
  add_data(centre_status);
  bool centre_json = false;
  centre_status->add_flag("--json", centre_json, "One JSON object instead of text");

  auto* serve = cli.add_subcommand("serve", "Serve the HTTP API");
  add_data(serve);
  std::string listen = "127.0.0.1:8080", components, public_url;
  int threads = 0;
  serve->add_option("--listen", listen, "HOST:PORT to listen on")->capture_default_str();
  serve->add_option("--components", components,
                    "Components to serve, comma-separated: registry, card, pki, municipal, kiosk, linkage, portal "
                    "(default: all, pki, kiosk, linkage and portal when the CA exists)");
  serve->add_option("--public-url", public_url,
                    "Base of the CRL and OCSP URLs written into certificates (default: http://LISTEN)");
  serve->add_option("--threads", threads, "Worker threads (0: 4 per core)");
  double console_sample_seconds = 5;
  serve->add_option("--console-sample-seconds", console_sample_seconds,
                    "How often the operator console samples the server's counters (and its page refreshes)")
      ->capture_default_str()
      ->check(CLI::Range(0.2, 60.0));
  std::string kiosk_screen_url;
  serve->add_option("--kiosk-screen-url", kiosk_screen_url,
                    "Where a kiosk screen (jlis kiosk screen) answers, for the front page's link");
  int64_t kiosk_session_seconds = 300;
  serve->add_option("--kiosk-session-seconds", kiosk_session_seconds,
                    "How long a kiosk session lasts from its opening before it times out")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{86400}));
  int64_t kiosk_relay_seconds = 30;
  serve->add_option("--kiosk-relay-seconds", kiosk_relay_seconds,
                    "How long the kiosk centre waits for a municipality's issuance server to answer")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{600}));
  portal::PortalOptions portal_options;
  serve->add_option("--portal-idle-seconds", portal_options.idle_seconds,
                    "How long a session of the resident's own page lasts without a request")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{86400}));
  portal::RouteOptions portal_routes;
  serve->add_option("--portal-login-limit", portal_routes.logins_per_minute,
                    "Log-ins to the resident's own page opened per client address per minute; beyond it 429 (0: no limit)")
      ->capture_default_str();
  int64_t sqlite_memory_mib = 32;
  serve->add_option("--sqlite-memory", sqlite_memory_mib,
                    "MiB that SQLite's page caches hold together, all connections (0: up to 1 GiB each)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  pki::RouteOptions pki_limits;
  serve->add_option("--ocsp-unknown-limit", pki_limits.ocsp_unknown_per_minute,
                    "Unknown-serial OCSP answers per client address per minute; beyond it tryLater (0: no limit)")
      ->capture_default_str();
  serve->add_option("--release-challenge-limit", pki_limits.release_challenges_per_minute,
                    "Smartphone release challenges per client address per minute; beyond it 429 (0: no limit)")
      ->capture_default_str();
  bool print_routes = false;
  double linkage_stamp_seconds = 60;
  serve->add_option("--linkage-stamp-seconds", linkage_stamp_seconds,
                    "How often the linkage message log's head is time-stamped (with an LGPKI, serving pki)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  double linkage_refresh_seconds = 60;
  serve->add_option("--linkage-refresh-seconds", linkage_refresh_seconds,
                    "Pause between two passes of the sweep that refreshes the municipalities' linkage replicas from "
                    "their households and tax records (serving linkage)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  int64_t linkage_ocsp_max_age = 3600;
  serve->add_option("--linkage-ocsp-max-age", linkage_ocsp_max_age,
                    "Seconds: the oldest OCSP answer about a body's signing certificate the linkage platform accepts "
                    "(older: the message is refused); LGPKI's OCSP answers are then re-signed at half this age")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{60}, int64_t{86400}));
  serve->add_flag("--print-routes", print_routes,
                  "Print the route table (METHOD PATTERN, one a line) instead of serving");

  auto* population = cli.add_subcommand("population", "Synthetic populations")->require_subcommand(1);
  auto* generate = population->add_subcommand("generate", "Create residents through the municipalities' event path");
  add_data(generate);
  int64_t count = 0;
  uint64_t seed = 1;
  generate->add_option("--count", count, "Residents to create")->required()->check(CLI::NonNegativeNumber);
  generate->add_option("--seed", seed, "Random seed")->capture_default_str();
  bool bulk = false;
  generate->add_flag("--bulk", bulk,
                     "Bulk load (initial load of an empty register): the register's events in one transaction, "
                     "its search indexes built at the end, every check kept; refused unless the register is "
                     "empty, and the first refused event rolls the whole register load back");
  bool register_only = false;
  generate->add_flag("--register-only", register_only,
                     "Stop after the register's events: no municipal records and no cards (for measuring the load)");
  int key_pool = 0;
  generate->add_option("--key-pool", key_pool,
                       "Simulated cards draw their key pairs from N pre-generated RSA-2048 pairs, so handovers get "
                       "certificates (needs a CA and a simulation's directory; the pairs are kept in "
                       "DIR/keys/card-key-pool.pem for `jlis card virtual`; 0: cards without certificates)")
      ->check(CLI::Range(0, 100000));

  auto* ca_cmd = cli.add_subcommand("ca", "The JPKI certification authority")->require_subcommand(1);
  auto* ca_init = ca_cmd->add_subcommand(
      "init", "Create the CA hierarchy; keys encrypted with JLIS_CA_PASSPHRASE, or on a PKCS#11 token (JLIS_PKCS11_PIN)");
  add_data(ca_init);
  std::string pkcs11_module, pkcs11_token, ca_public_url = "http://127.0.0.1:8080";
  ca_init->add_option("--pkcs11-module", pkcs11_module, "PKCS#11 module: keep the keys on a token");
  ca_init->add_option("--pkcs11-token", pkcs11_token, "Label of the PKCS#11 token");
  ca_init->add_option("--public-url", ca_public_url,
                      "Base of the CRL and OCSP URLs in certificates issued outside jlis serve")
      ->capture_default_str();
  auto* ca_crl = ca_cmd->add_subcommand(
      "crl", "Generate the CRLs now (DIR/pki/crl/*.crl, and the signature CRL's partitions in DIR/pki/crl/signature/)");
  add_data(ca_crl);
  auto* ca_renew = ca_cmd->add_subcommand(
      "renew", "Make a new generation of a CA: same name, new key (in the same key store), link certificates with the "
               "previous generation, a new OCSP responder; new certificates are issued by it (restart jlis serve)");
  add_data(ca_renew);
  std::string renew_kind;
  ca_renew->add_option("--kind", renew_kind, "signature or authentication")->required();
  auto* ca_status = ca_cmd->add_subcommand("status", "The generations of both CAs, as CSV");
  add_data(ca_status);
  std::string crl_municipality;
  ca_crl->add_option("--municipality", crl_municipality,
                     "Generate only the signature CRL partition of this municipality (6-digit code): "
                     "DIR/pki/crl/signature/<code>.crl");

  auto* verifier = cli.add_subcommand("verifier", "Verifiers registered with the CA")->require_subcommand(1);
  auto* verifier_add = verifier->add_subcommand("add", "Register a verifier; prints its token on the last line");
  add_data(verifier_add);
  bool consent = false;
  std::string verifier_name;
  verifier_add->add_option("--name", verifier_name, "Verifier name")->required();
  verifier_add->add_flag("--consent", consent, "May receive the basic four with the holder's consent");
  add_grant(verifier_add);
  auto* verifier_list = verifier->add_subcommand("list", "List the registered verifiers");
  add_data(verifier_list);

  auto* agency = cli.add_subcommand("agency", "Agencies that query identity information")->require_subcommand(1);
  auto* agency_add = agency->add_subcommand("add", "Register an agency; prints its token on the last line");
  add_data(agency_add);
  std::string name;
  std::vector<std::string> purposes;
  agency_add->add_option("--name", name, "Agency name")->required();
  agency_add->add_option("--purposes", purposes, "Granted purposes")->required()->delimiter(',');
  add_grant(agency_add);
  auto* agency_list = agency->add_subcommand("list", "List the agencies and their purposes");
  add_data(agency_list);
  auto* agency_purposes = agency->add_subcommand(
      "purposes", "Change an agency's purposes at once (removing the last withdraws its access)");
  add_data(agency_purposes);
  add_by(agency_purposes);
  std::string agency_id;
  std::vector<std::string> set_purposes, add_purposes, remove_purposes;
  agency_purposes->add_option("--agency", agency_id, "Agency id (ag-...)")->required();
  auto* set_opt = agency_purposes->add_option("--set", set_purposes, "Replace the purposes")->delimiter(',');
  auto* add_opt = agency_purposes->add_option("--add", add_purposes, "Grant more purposes")->delimiter(',');
  auto* remove_opt = agency_purposes->add_option("--remove", remove_purposes, "Withdraw purposes")->delimiter(',');
  set_opt->excludes(add_opt)->excludes(remove_opt);
  add_opt->excludes(remove_opt);

  auto* municipality = cli.add_subcommand("municipality", "Municipalities")->require_subcommand(1);
  auto* muni_token = municipality->add_subcommand("token", "Create a municipality token; prints it on the last line");
  add_data(muni_token);
  std::string code;
  muni_token->add_option("--code", code, "Local government code (6 digits)")->required();
  add_grant(muni_token);

  auto* token = cli.add_subcommand("token", "Tokens of the other roles")->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "Create a token; prints it on the last line");
  add_data(token_create);
  std::string role, subject;
  token_create->add_option("--role", role, "card-centre, call-centre, verifier, operator, issuance-centre or lgpki-registration (LGPKI "
                                     "登録分局: --name is its local government's code)")->required();
  token_create->add_option("--name", subject, "Who holds it");
  add_grant(token_create);
  auto* token_list = token->add_subcommand("list", "List every token as CSV, without secrets");
  add_data(token_list);
  auto* token_revoke = token->add_subcommand("revoke", "Revoke a token: refused at once, also by a running server");
  add_data(token_revoke);
  add_by(token_revoke);
  std::string token_id;
  token_revoke->add_option("--id", token_id, "Token id (tk-..., from jlis token list)")->required();
  auto* token_log = token->add_subcommand("log", "Every change to tokens and agencies' purposes, with who made it, as CSV");
  add_data(token_log);

  auto* cards_cmd = cli.add_subcommand("cards", "My Number cards")->require_subcommand(1)->alias("card");
  auto* produce = cards_cmd->add_subcommand("produce", "Produce and ship the queued applications, express first");
  add_data(produce);
  size_t max_applications = 10'000'000;
  produce->add_option("--max", max_applications, "At most this many applications")->capture_default_str();
  auto* notices = cards_cmd->add_subcommand("notices", "Record and print the expiry notices of a month, as CSV");
  add_data(notices);
  std::string month;
  notices->add_option("--month", month, "YYYY-MM")->required();
  auto* cards_list = cards_cmd->add_subcommand("list", "The cards shipped to a municipality, oldest first, as CSV");
  add_data(cards_list);
  std::string cards_municipality, cards_status;
  size_t cards_limit = 100;
  cards_list->add_option("--municipality", cards_municipality, "Local government code (6 digits)")->required();
  cards_list->add_option("--status", cards_status, "Only cards in this state (shipped, active, suspended, lost, returned, invalid)");
  cards_list->add_option("--limit", cards_limit, "At most this many")->capture_default_str();

  auto* stats = cli.add_subcommand("stats", "Statistics")->require_subcommand(1);
  auto* migration = stats->add_subcommand("migration", "Move-ins per municipality in a month, as CSV");
  add_data(migration);
  migration->add_option("--month", month, "YYYY-MM")->required();

  auto* residents = cli.add_subcommand("residents", "Residents")->require_subcommand(1);
  auto* export_cmd = residents->add_subcommand("export", "Write the current residents as CSV");
  add_data(export_cmd);
  std::string export_municipality, output;
  export_cmd->add_option("--municipality", export_municipality, "Only this municipality");
  export_cmd->add_option("--output", output,
                         "New file to write, created 0600 (an existing file is refused; default: standard output)");
  bool export_with_my_number = false;
  std::string export_purpose;
  export_cmd->add_flag("--with-my-number", export_with_my_number,
                       "Include each resident's My Number: an operator provision, recorded for every resident "
                       "exported (needs --purpose)");
  export_cmd->add_option("--purpose", export_purpose, "Why the My Numbers leave the register (with --with-my-number)");

  auto* new_code = residents->add_subcommand(
      "new-code", "Give a resident a new resident code at their request; the old code is retired for ever");
  add_data(new_code);
  std::string resident_arg, event_id_arg;
  new_code->add_option("--resident", resident_arg, "Current resident code (11 digits)")->required();
  new_code->add_option("--event-id", event_id_arg, "Idempotency key (default: random)");

  auto* mynumber = cli.add_subcommand("mynumber", "My Numbers (個人番号)")->require_subcommand(1);
  auto* reissue = mynumber->add_subcommand("reissue", "Give a resident a new My Number because theirs leaked");
  add_data(reissue);
  std::string reason_arg;
  reissue->add_option("--resident", resident_arg, "Resident code (11 digits)")->required();
  reissue->add_option("--reason", reason_arg, "Must be 'leak': a My Number changes only when it has leaked")->required();
  reissue->add_option("--event-id", event_id_arg, "Idempotency key (default: random)");
  auto* letters = mynumber->add_subcommand(
      "letters", "Print the pending notification letters (個人番号通知書) of a municipality as CSV");
  add_data(letters);
  std::string letters_municipality;
  bool mark_printed = false;
  letters->add_option("--municipality", letters_municipality, "Local government code (6 digits)")->required();
  letters->add_flag("--mark-printed", mark_printed, "Mark the letters printed once written");

  municipal::DocumentCommands documents(cli, add_data);
  pki::CertificateCommands certificates(cli, add_data);
  pki::LgpkiCommands lgpki_commands(cli, add_data, add_by);
  kiosk::CardCommands card_commands(*cards_cmd, add_data);
  kiosk::KioskCommands kiosk_commands(cli, add_data);
  linkage::LinkageCommands linkage_commands(cli, add_data, add_grant, add_by);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::RequiredError& e) {
    // An unknown option is named before a missing one: `--dta DIR` is a mistyped --data, and
    // "--data is required" would not say so.
    if (auto extra = cli.remaining(true); !extra.empty()) return cli.exit(CLI::ExtrasError(extra));
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  // `jlis serve` bounds SQLite's memory (--sqlite-memory), which needs SQLite's statistics of it;
  // every other command runs faster without them (store/database.h).
  if (!*serve) store::skip_sqlite_memory_statistics();

  try {
    if (documents.chosen()) {
      auto app = check(App::open(data, reference));
      if (documents.issues_documents()) check(app->seal_documents(data));  // signed once the government can
      check(documents.run(app->issuance(), std::cout));
      return 0;
    }
    if (kiosk_commands.standalone()) {
      check(kiosk_commands.run_standalone(std::cout));
      return 0;
    }
    if (kiosk_commands.chosen()) {
      auto app = check(App::open(data, reference));
      check(kiosk_commands.run(app->pool(), app->writer(), std::cout));
      return 0;
    }
    if (card_commands.chosen()) {
      check(card_commands.check_arguments());  // before the data directory is opened
      auto app = check(App::open(data, reference));
      check(card_commands.run(data, app->pool(), app->cards(), app->ca(), std::cout));
      return 0;
    }
    if (lgpki_commands.chosen()) {
      check(lgpki_commands.check_arguments());  // before the data directory is opened
      auto app = check(App::open(data, reference));
      pki::LgpkiCommandContext context;
      context.data_dir = data;
      context.pool = &app->pool();
      context.writer = &app->writer();
      context.directory = &app->directory();
      context.keys = [&app, &data] { return app->key_store(data); };
      context.operator_identity = operator_identity(by);
      const char* token = std::getenv("JLIS_TOKEN");
      context.token = token ? token : "";
      check(lgpki_commands.run(context, std::cout));
      return 0;
    }
    if (linkage_commands.standalone()) {
      check(linkage_commands.run_standalone(std::cout));
      return 0;
    }
    if (linkage_commands.chosen()) {
      check(linkage_commands.check_arguments());  // before the data directory is opened
      const auth::TokenGrant grant = token_grant(expires, by);
      auto app = check(App::open(data, reference));
      linkage::LinkageContext context{data, &app->pool(), &app->writer(), &app->directory(), grant, &app->reference(),
                                      [&app, &data] { return app->time_stamps(data); },
                                      [&app, &data]() -> Result<linkage::MessageVerifier> {
                                        JLIS_ASSIGN_OR_RETURN(pki::LgpkiAuthority * lgpki, app->lgpki(data));
                                        if (lgpki == nullptr)
                                          return invalid_argument("the data directory has no LGPKI, whose roots the "
                                                                  "bodies' certificates chain to: jlis lgpki init");
                                        return linkage::lgpki_verifier(*lgpki, std::chrono::hours(24));
                                      },
                                      [&app, &data] { return app->linkage(data); }};
      check(linkage_commands.run(context, std::cout));
      return 0;
    }
    if (certificates.chosen()) {
      check(certificates.check_arguments());  // before the data directory is opened
      auto app = check(App::open(data, reference));
      check(certificates.run(app->ca(), std::cout, std::cerr));
      return 0;
    }
    if (*init) {
      if (!read_store.empty() && centre_name.empty())
        throw Failure{invalid_argument("--read-store goes with --centre NAME")};
      if (!centre_name.empty() && store_url.empty() && store::data_dir_store(data).empty())  // before creating anything
        throw Failure{invalid_argument("a centre needs a PostgreSQL store (jlis init --store postgresql://…)")};
      std::optional<store::SqliteSync> sync;
      if (!sqlite_sync.empty()) sync = check(store::parse_sqlite_sync(sqlite_sync));
      check(App::init(data, simulation, store_url, sync));
      if (!centre_name.empty()) {
        if (!read_store.empty()) check(store::open_postgresql(read_store).status());  // reachable now
        check(store::record_centre(data, {centre_name, read_store}));
        std::cout << "centre " << centre_name << (read_store.empty() ? "" : ", reading from its read store") << "\n";
      }
      std::cout << "initialised " << data << "\n";
      return 0;
    }
    if (*ca_init) {
      pki::CaInitOptions options;
      options.public_url = ca_public_url;
      options.simulation = store::is_simulation(data);
      const pki::CaSecrets secrets = App::ca_secrets();
      if (!pkcs11_module.empty() || !pkcs11_token.empty()) {
        if (pkcs11_module.empty() || pkcs11_token.empty())
          throw Failure{invalid_argument("--pkcs11-module and --pkcs11-token go together")};
        if (secrets.pin.empty()) throw Failure{invalid_argument("set JLIS_PKCS11_PIN to the token's user PIN")};
        options.keys.kind = pki::KeyStoreConfig::Kind::pkcs11;
        options.keys.module = pkcs11_module;
        options.keys.token_label = pkcs11_token;
        options.keys.pin = secrets.pin;
      } else {
        if (secrets.passphrase.empty())
          throw Failure{invalid_argument("set JLIS_CA_PASSPHRASE: the CA keys are encrypted with it")};
        options.keys.passphrase = secrets.passphrase;
      }
      check(store::check_data_dir(data));
      check(pki::CertificateAuthority::init(data, options));
      auto app = check(App::open(data, reference));  // the CA's tables, and a check that it opens
      check(app->ca()->load_keys());
      std::cout << "created the JPKI CA hierarchy in " << data << "/pki\n";
      for (const auto& p : app->ca()->published()) std::cout << "  " << p.kind << "\n";
      return 0;
    }
    if (*centre_status) {
      const auto report = check(store::centre_report(data, centre_json));
      std::cout << report.output;
      return report.primaries == 1 ? 0 : 1;
    }
    if (*reissue && reason_arg != "leak")
      throw Failure{invalid_argument("--reason must be 'leak': a My Number is changed only when it has leaked")};
    auto app = check(App::open(data, reference));

    if (*serve) {
      auto [host, port] = check(http::parse_listen(listen));
      if (components.empty())
        components = app->ca() ? "registry,card,pki,municipal,kiosk,linkage,portal" : "registry,card,municipal";
      std::set<std::string> serving;
      std::stringstream list(components);
      for (std::string c; std::getline(list, c, ',');) {
        if (c != "registry" && c != "card" && c != "pki" && c != "municipal" && c != "kiosk" && c != "linkage" &&
            c != "portal")
          throw Failure{invalid_argument("unknown component '" + c +
                                         "' (available: registry, card, pki, municipal, kiosk, linkage, portal)")};
        serving.insert(c);
      }
      if ((serving.count("pki") || serving.count("kiosk") || serving.count("portal")) && !app->ca())
        throw Failure{invalid_argument("the data directory has no CA (create it with: jlis ca init --data " + data + ")")};
      store::limit_sqlite_memory(sqlite_memory_mib);
      http::ServerOptions options;
      options.host = host;
      options.port = port;
      options.worker_threads = threads;
      options.simulation = store::is_simulation(data);
      options.centre = store::data_dir_centre(data).name;
      if (!options.centre.empty())
        options.store_role = [&app]() -> Result<std::string> {
          JLIS_ASSIGN_OR_RETURN(auto conn, app->pool().acquire());
          return store::store_role(*conn);
        };
      http::Server server(options);
      const bool cards = serving.count("card") > 0;
      // The information-linkage platform; its code key is in the key store (made there on first use).
      linkage::Platform* platform = serving.count("linkage") ? check(app->linkage(data)) : nullptr;
      // LGPKI, opened first here: the platform verifies the bodies' signatures with its roots and its
      // OCSP responder, whose answers then stay younger than the platform's freshness limit.
      pki::LgpkiOptions lgpki_options;
      if (platform) lgpki_options.ocsp.validity = std::chrono::seconds(linkage_ocsp_max_age);
      pki::LgpkiAuthority* lgpki_opened =
          serving.count("pki") || platform ? check(app->lgpki(data, lgpki_options)) : nullptr;
      std::optional<linkage::MessageVerifier> verifier;
      if (platform && lgpki_opened && lgpki_opened->exists())
        verifier = check(linkage::lgpki_verifier(*lgpki_opened, std::chrono::seconds(linkage_ocsp_max_age)));
      else if (platform)
        spdlog::warn("linkage: this data directory has no LGPKI: the bodies' signed messages cannot be verified and "
                     "are refused (jlis lgpki init)");
      // A resident's disclosure: the provisions, the issuances and, with the platform, its records.
      registry::DisclosureDecorator disclose = municipal::disclosure(app->issuance());
      if (platform)
        disclose = [issuances = disclose, records = linkage::disclosure(*platform)](const ResidentCode& code,
                                                                                      nlohmann::json& out) {
          Status s = issuances(code, out);
          return s.is_ok() ? records(code, out) : s;
        };
      if (serving.count("registry"))
        registry::add_routes(server, app->registry(), app->directory(),
                             cards ? card::resident_decorator(app->cards()) : registry::ResidentDecorator(), disclose);
      if (cards) card::add_routes(server, app->cards(), app->directory());
      if (serving.count("municipal"))
        municipal::add_routes(server, {app->pool(), app->writer(), app->registry(), app->directory(),
                                       app->households(), app->seals(), app->issuance()});
      // The bulk jobs are answered on a thread of their own, a batch per writer transaction; the
      // municipalities' replicas follow their records on another (linkage/record_replicas.h).
      std::unique_ptr<linkage::BulkRunner> bulk_runner;
      std::unique_ptr<linkage::RecordReplicas> record_replicas;
      std::unique_ptr<linkage::ReplicaRefresher> refresher;
      if (platform) {
        record_replicas = std::make_unique<linkage::RecordReplicas>(app->writer(), platform->layouts(), app->registry(),
                                                                    app->households());
        refresher = std::make_unique<linkage::ReplicaRefresher>(
            *record_replicas, std::chrono::milliseconds(static_cast<int64_t>(linkage_refresh_seconds * 1000)));
        bulk_runner = std::make_unique<linkage::BulkRunner>(platform->bulk_jobs());
        // The platform signs its answers with its own LGPKI key, made now when it has none yet (a
        // centre that cannot write yet makes it at its first answer; until then those answer 503).
        linkage::AnswerKey answer_key;
        if (verifier) {
          if (Status made = lgpki_opened->message_signer().status(); !made.is_ok())
            spdlog::warn("linkage: the platform's answer-signing key: {}", made.to_string());
          answer_key = [lgpki_opened] { return lgpki_opened->message_signer(); };
          platform->queries().set_forwarding({answer_key, &*verifier});
        }
        linkage::add_routes(server, {app->directory(), app->registry(), *platform, bulk_runner.get(),
                                     verifier ? &*verifier : nullptr, answer_key});
      }
      pki::CertificateAuthority* ca = serving.count("pki") ? app->ca() : nullptr;
      if (ca) {
        check(ca->load_keys());  // fail now, not at the first handover
        check(pki::add_routes(server, *ca, app->directory(), pki_limits));
      }
      // LGPKI's public CRLs, ARLs, CA certificates and OCSP, with the pki component, when DIR has an
      // LGPKI; and then the municipalities' electronic seals on the documents of the window and the kiosk.
      pki::LgpkiAuthority* lgpki = serving.count("pki") ? lgpki_opened : nullptr;
      if (lgpki) pki::add_lgpki_routes(server, *lgpki, pki_limits.ocsp_unknown_per_minute);
      // The linkage message log time-stamped by LGPKI's authority on a timer, off the writer; its
      // growth and the unstamped alarm on /metrics (linkage/log_stamper.h).
      std::unique_ptr<linkage::LogStamper> stamper;
      if (lgpki) {
        stamper = std::make_unique<linkage::LogStamper>(
            app->pool(), app->writer(), check(app->time_stamps(data)),
            std::chrono::milliseconds(static_cast<int64_t>(linkage_stamp_seconds * 1000)));
        server.add_metrics_source([&stamper] {
          auto lines = stamper->metrics();
          return lines.ok() ? *lines : "";
        });
      }
      if (serving.count("municipal") || serving.count("kiosk")) check(app->seal_documents(data));
      // The issuance centre verifies log-ins with the CA's chain and OCSP responder in-process.
      std::unique_ptr<kiosk::Centre> centre;
      if (serving.count("kiosk")) {
        check(app->ca()->load_keys());
        kiosk::CentreOptions centre_options;
        centre_options.token = check(kiosk::Centre::ensure_centre_token(data, app->directory()));
        centre_options.sessions.lifetime_seconds = kiosk_session_seconds;
        centre_options.relay_timeout = std::chrono::seconds(kiosk_relay_seconds);
        centre = std::make_unique<kiosk::Centre>(app->pool(), app->writer(), app->registry(), *app->ca(),
                                                 centre_options);
        kiosk::add_routes(server, *centre);
        kiosk::add_verify_routes(server, app->issuance());
      }
      // The resident's own page: the card log-in verified in-process like the kiosk's; the record is
      // the registry's disclosure with the same decorators as GET /v1/residents/{code}/provisions.
      std::unique_ptr<portal::Portal> resident_portal;
      if (serving.count("portal")) {
        check(app->ca()->load_keys());
        resident_portal = std::make_unique<portal::Portal>(app->pool(), app->writer(), app->registry(), *app->ca(),
                                                           disclose, portal_options);
        if (platform) {
          portal_routes.body_name = [platform](const std::string& id) {
            auto body = platform->bodies().get(id);
            return body.ok() ? body->name : std::string();
          };
          portal_routes.procedure_name = [platform](const std::string& code) {
            for (const auto& row : platform->legal_table().rows())
              if (row.procedure == code) return row.procedure_name;
            return std::string();
          };
          // An item's name as the newest layout version has it (names do not change between versions).
          portal_routes.item_name = [platform](const std::string& code) {
            const auto& versions = platform->layouts().versions();
            for (auto v = versions.rbegin(); v != versions.rend(); ++v)
              if (auto it = v->items.find(code); it != v->items.end()) return it->second.name;
            return std::string();
          };
        }
        portal::add_routes(server, *resident_portal, portal_routes);
      }
      web::add_front_page(server, {.components = {serving.begin(), serving.end()},
                                   .simulation = options.simulation,
                                   .centre = options.centre,
                                   .store_role = options.store_role,
                                   .population = [&app] { return app->registry().population(); },
                                   .kiosk_screen_url = kiosk_screen_url});
      check(web::add_api_page(server, openapi_document()));
      web::Console console(app->directory(),
                           console_sources(*app, server, cards, ca,
                                           std::chrono::milliseconds(static_cast<int64_t>(console_sample_seconds * 1000))));
      console.add_routes(server);
      server.route("GET", "/openapi.yaml", [](const http::Request&) {
        http::Response r;
        r.content_type = "application/yaml";
        r.body = std::string(openapi_document());
        return r;
      });
      server.add_metrics_source([&] {
        return app->writer().metrics() + "# TYPE jlis_store_sqlite_memory_bytes gauge\njlis_store_sqlite_memory_bytes " +
               std::to_string(store::sqlite_memory_used()) + "\n";
      });
      if (print_routes) {
        for (const auto& r : server.routes()) std::cout << r.method << " " << r.pattern << "\n";
        return 0;
      }
      check(server.start());
      if (centre) centre->set_default_base_url("http://" + host + ":" + std::to_string(server.port()));
      // Revocations reach the OCSP responses and the CRLs within a second or a few (ca.h: tick).
      std::atomic<bool> stopping{false};
      std::thread ticker;
      if (ca)
        ca->set_public_url(public_url.empty() ? "http://" + host + ":" + std::to_string(server.port()) : public_url);
      if (ca || lgpki_opened) {
        ticker = std::thread([&] {
          while (!stopping) {
            Status s = ca ? ca->tick() : Status::ok();
            if (!s.is_ok()) spdlog::warn("pki: {}", s.message());
            // Revocations by jlis lgpki revoke (another process) reach LGPKI's OCSP responses, the
            // linkage platform's checks of the bodies' signers included.
            if (lgpki_opened) {
              s = lgpki_opened->tick();
              if (!s.is_ok()) spdlog::warn("lgpki: {}", s.message());
            }
            for (int i = 0; i < 10 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        });
      }
      // The first line on stdout names the bound address (with --listen HOST:0, the port chosen).
      std::printf("jlis serving %s on http://%s:%u\n", components.c_str(), host.c_str(), server.port());
      std::fflush(stdout);
      server.wait();
      stopping = true;
      if (ticker.joinable()) ticker.join();
      server.stop();
      return 0;
    }
    if (*ca_renew) {
      auto kind = pki::parse_kind(renew_kind);
      if (!kind.ok()) throw Failure{kind.status()};
      if (!app->ca()) throw Failure{invalid_argument("the data directory has no CA (jlis ca init)")};
      auto g = check(app->ca()->new_generation(*kind));
      const std::string k(pki::kind_name(g.kind));
      std::printf("%s CA generation %d: subject key identifier %s\n", k.c_str(), g.generation, g.subject_key_id.c_str());
      std::printf("  %s/pki/%s-ca-%d.pem, %s/pki/%s-ocsp-%d.pem\n", data.c_str(), k.c_str(), g.generation, data.c_str(),
                  k.c_str(), g.generation);
      std::printf("  links: %s/pki/%s-link-%d-%d.pem (old key signs new), %s/pki/%s-link-%d-%d.pem (new signs old)\n",
                  data.c_str(), k.c_str(), g.generation - 1, g.generation, data.c_str(), k.c_str(), g.generation,
                  g.generation - 1);
      std::printf("new certificates are issued by generation %d; restart jlis serve\n", g.generation);
      return 0;
    }
    if (*ca_status) {
      if (!app->ca()) throw Failure{invalid_argument("the data directory has no CA (jlis ca init)")};
      std::cout << "kind,generation,current,subject_key_id,not_before,not_after,certificates,unexpired\n";
      for (const auto& g : check(app->ca()->generations()))
        std::cout << pki::kind_name(g.kind) << "," << g.generation << "," << (g.current ? "yes" : "no") << ","
                  << g.subject_key_id << "," << iso8601_seconds(g.not_before) << "," << iso8601_seconds(g.not_after)
                  << "," << g.certificates << "," << g.unexpired << "\n";
      return 0;
    }
    if (*ca_crl) {
      if (!app->ca()) throw Failure{invalid_argument("the data directory has no CA (jlis ca init)")};
      auto start = std::chrono::steady_clock::now();
      if (!crl_municipality.empty()) {
        const int64_t entries = check(app->ca()->generate_partition(crl_municipality));
        std::printf("signature CRL partition %s: %lld revoked certificates, %s/pki/crl/signature/%s.crl\n",
                    crl_municipality.c_str(), static_cast<long long>(entries), data.c_str(), crl_municipality.c_str());
        return 0;
      }
      auto made = check(app->ca()->generate_crls());
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      for (const auto& crl : made)
        std::printf("%s CRL: %lld revoked certificates, %s/pki/crl/%s.crl\n", crl.name.c_str(),
                    static_cast<long long>(crl.entries), data.c_str(), crl.name.c_str());
      std::printf("signature CRL partitions: %lld, %s/pki/crl/signature/<municipality code>.crl\n",
                  static_cast<long long>(app->ca()->partitions_generated()), data.c_str());
      std::printf("generated in %.2f s\n", secs);
      return 0;
    }
    if (*verifier_add) {
      if (!app->ca()) throw Failure{invalid_argument("the data directory has no CA (jlis ca init)")};
      auto [v, token] = check(app->ca()->add_verifier(app->directory(), verifier_name, consent,
                                                      token_grant(expires, by)));
      std::cout << "verifier " << v.verifier_id << " (" << v.name << ")"
                << (v.consent_provision ? ", basic four with consent" : "") << "\n" << token << "\n";
      return 0;
    }
    if (*verifier_list) {
      if (!app->ca()) throw Failure{invalid_argument("the data directory has no CA (jlis ca init)")};
      std::cout << "verifier_id,name,consent_provision,registered_at\n";
      for (const auto& v : check(app->ca()->verifiers()))
        std::cout << v.verifier_id << "," << csv_field(v.name) << "," << (v.consent_provision ? "yes" : "no") << ","
                  << v.registered_at << "\n";
      return 0;
    }
    if (*generate) {
      Progress progress("residents");
      registry::PopulationOptions options;
      options.count = count;
      options.seed = seed;
      options.bulk = bulk;
      options.progress = [&](int64_t done, int64_t total) { progress.update(done, total); };
      auto start = std::chrono::steady_clock::now();
      auto report = check(registry::generate_population(app->registry(),
                                                        reference.empty() ? ReferenceData::default_dir() : reference,
                                                        options));
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (report.rolled_back) {
        std::fprintf(stderr,
                     "jlis: bulk load refused: an event was refused (%s); the load was rolled back, nothing "
                     "was written\n",
                     report.first_refusal.c_str());
        return 1;
      }
      std::printf("created %lld residents in %lld households (%.2f per household) with %lld events in %.1f s "
                  "(%.0f residents/s, %llu transactions%s)\n",
                  static_cast<long long>(report.residents), static_cast<long long>(report.households),
                  static_cast<double>(report.residents) / static_cast<double>(std::max<int64_t>(report.households, 1)),
                  static_cast<long long>(report.events), secs,
                  static_cast<double>(report.residents) / std::max(secs, 1e-9),
                  static_cast<unsigned long long>(app->writer().commits()),
                  bulk ? ", bulk load: indexes built after" : "");
      if (report.refused > 0) {
        std::fprintf(stderr, "jlis: %lld events were refused; the first: %s\n",
                     static_cast<long long>(report.refused), report.first_refusal.c_str());
        return 1;
      }
      if (register_only) return 0;
      // The municipalities' own records for them: family registers with their 附票, tax records.
      Progress municipal_progress("households given registers and tax records");
      municipal::MunicipalPopulationOptions municipal_options;
      municipal_options.seed = seed;
      municipal_options.seals = &app->seals();
      municipal_options.progress = [&](int64_t done, int64_t total) { municipal_progress.update(done, total); };
      auto municipal_start = std::chrono::steady_clock::now();
      auto records = check(municipal::generate_municipal_records(app->pool(), app->writer(), app->registry(),
                                                                 municipal_options));
      double municipal_secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - municipal_start).count();
      std::printf("municipal records: %lld households, %lld family registers (%lld residents linked to their "
                  "附票, %lld of them with 本籍 in another municipality; %lld members not residents), %lld tax "
                  "records, seals: %lld registered of %lld adults chosen for one, in %.1f s\n",
                  static_cast<long long>(records.households - records.skipped),
                  static_cast<long long>(records.registers), static_cast<long long>(records.linked),
                  static_cast<long long>(records.honseki_elsewhere), static_cast<long long>(records.absent_members),
                  static_cast<long long>(records.tax_records), static_cast<long long>(records.seals),
                  static_cast<long long>(records.seal_candidates), municipal_secs);
      if (records.failures > 0) {
        std::fprintf(stderr, "jlis: the records of %lld households failed; the first: %s\n",
                     static_cast<long long>(records.failures), records.first_failure.c_str());
        return 1;
      }
      // A plausible share of them hold a card, in a plausible state, made through the card operations.
      Progress card_progress("residents considered for cards");
      card::CardPopulationOptions card_options;
      card_options.seed = seed;
      // Simulated cards: each handover draws its chip's key pairs from a pool (documented as such).
      std::optional<kiosk::CardKeyPool> pool;
      if (key_pool > 0) {
        if (!app->ca()) throw Failure{invalid_argument("--key-pool needs a CA (jlis ca init)")};
        pool = check(kiosk::CardKeyPool::ensure(data, static_cast<size_t>(key_pool)));
        check(app->ca()->load_keys());
        card_options.card_keys = [&pool](uint64_t draw) { return pool->public_keys(draw); };
      }
      card_options.progress = [&](int64_t done, int64_t total) { card_progress.update(done, total); };
      auto cards = check(card::generate_cards(app->cards(), card_options));
      std::printf("cards: %lld applications (%lld rejected), %lld cards: %lld active, %lld suspended, %lld lost, "
                  "%lld returned, %lld expired, %lld shipped, %lld queued\n",
                  static_cast<long long>(cards.applications), static_cast<long long>(cards.rejected),
                  static_cast<long long>(cards.cards), static_cast<long long>(cards.active),
                  static_cast<long long>(cards.suspended), static_cast<long long>(cards.lost),
                  static_cast<long long>(cards.returned), static_cast<long long>(cards.expired),
                  static_cast<long long>(cards.shipped), static_cast<long long>(cards.queued));
      if (cards.failures > 0) {
        std::fprintf(stderr, "jlis: %lld card histories failed; the first: %s\n",
                     static_cast<long long>(cards.failures), cards.first_failure.c_str());
        return 1;
      }
      return 0;
    }
    if (*produce) {
      auto report = check(app->cards().produce(max_applications, [](int64_t produced) {
        std::fprintf(stderr, "produced %lld\n", static_cast<long long>(produced));
      }));
      std::printf("produced %lld cards (%lld express) in %lld batches, %.1f s; %lld applications remain\n",
                  static_cast<long long>(report.produced), static_cast<long long>(report.express),
                  static_cast<long long>(report.batches), report.seconds, static_cast<long long>(report.remaining));
      return 0;
    }
    if (*cards_list) {
      const auto code = check(LocalGovernmentCode::parse(cards_municipality));
      std::optional<card::CardStatus> status;
      if (!cards_status.empty()) status = check(card::parse_card_status(cards_status));
      const Date today = app->cards().today();
      std::cout << "card_id,resident_code,status,expires_on,delivered_on,cert_expires_on,signature_certificate\n";
      for (const auto& c : check(app->cards().shipped_to(code, status, cards_limit)))
        std::cout << c.card_id << "," << c.resident_code.str() << "," << c.display_status(today) << ","
                  << c.expires_on.to_iso() << "," << (c.delivered_on ? c.delivered_on->to_iso() : "") << ","
                  << (c.cert_expires_on ? c.cert_expires_on->to_iso() : "") << ","
                  << (c.signature_certificate_allowed ? "yes" : "no") << "\n";
      return 0;
    }
    if (*notices) {
      auto run = check(app->cards().expiry_notices(month));
      std::cout << "card_id,resident_code,municipality_code,expires_on,kind,name,address,email\n";
      for (const auto& n : run.notices) {
        std::cout << n.card_id << "," << n.resident_code.str() << "," << n.municipality_code.str() << ","
                  << n.expires_on.to_iso() << "," << card::notice_kind_name(n.kind) << "," << csv_field(n.name) << ","
                  << csv_field(n.address) << "," << csv_field(n.email.value_or("")) << "\n";
      }
      std::fprintf(stderr, "%zu notices for cards expiring %s to %s (%lld recorded earlier)\n", run.notices.size(),
                   run.covers_from.to_iso().c_str(), run.covers_until.to_iso().c_str(),
                   static_cast<long long>(run.already_recorded));
      return 0;
    }
    if (*agency_add) {
      auto [a, t] = check(app->directory().add_agency(name, purposes, token_grant(expires, by)));
      std::cout << "agency " << a.agency_id << " (" << a.name << ") registered\n" << t << "\n";
      return 0;
    }
    if (*agency_list) {
      for (const auto& a : check(app->directory().agencies())) {
        std::string p;
        for (const auto& x : a.purposes) p += (p.empty() ? "" : ",") + x;
        std::cout << a.agency_id << "\t" << a.name << "\t" << p << "\n";
      }
      return 0;
    }
    if (*muni_token) {
      auto c = LocalGovernmentCode::parse(code);
      if (!c.ok()) throw Failure{invalid_argument("--code must be a 6-digit local government code")};
      const Municipality* m = app->reference().find(*c);
      if (!m || m->type == "都道府県" || m->type == "政令市")
        throw Failure{invalid_argument("--code " + code + " is not a municipality that keeps a resident register")};
      std::string t =
          check(app->directory().create_token(auth::Role::municipality, c->str(), m->name, token_grant(expires, by)));
      std::cout << "token for " << m->prefecture << m->name << " (" << c->str() << ")\n" << t << "\n";
      return 0;
    }
    if (*token_create) {
      auth::Role r = check(auth::parse_role(role));
      check(auth::check_plain_token_role(r));
      std::string holder = subject.empty() ? std::string(auth::role_name(r)) : subject;
      std::cout << "token for " << auth::role_name(r) << " (" << holder << ")\n"
                << check(app->directory().create_token(r, holder, holder, token_grant(expires, by))) << "\n";
      return 0;
    }
    if (*token_list) {
      std::cout << "id,role,subject,name,created,expires,revoked\n";
      for (const auto& t : check(app->directory().tokens()))
        std::cout << t.token_id << "," << auth::role_name(t.role) << "," << csv_field(t.subject) << ","
                  << csv_field(t.name) << "," << t.created_at << "," << iso8601_seconds(t.expires_at) << ","
                  << t.revoked_at.value_or("") << "\n";
      return 0;
    }
    if (*token_revoke) {
      check(app->directory().revoke_token(token_id, operator_identity(by)));
      std::cout << "token " << token_id << " revoked\n";
      return 0;
    }
    if (*token_log) {
      std::cout << "seq,at,by,action,target,detail\n";
      for (const auto& c : check(app->directory().changes()))
        std::cout << c.seq << "," << c.at << "," << csv_field(c.by) << "," << c.action << "," << c.target << ","
                  << csv_field(c.detail) << "\n";
      return 0;
    }
    if (*agency_purposes) {
      auth::PurposeChange change = auth::PurposeChange::set;
      const std::vector<std::string>* list = &set_purposes;
      if (add_opt->count()) {
        change = auth::PurposeChange::add;
        list = &add_purposes;
      } else if (remove_opt->count()) {
        change = auth::PurposeChange::remove;
        list = &remove_purposes;
      } else if (!set_opt->count()) {
        throw Failure{invalid_argument("name one of --set, --add or --remove")};
      }
      auto a = check(app->directory().set_purposes(agency_id, change, *list, operator_identity(by)));
      std::string p;
      for (const auto& x : a.purposes) p += (p.empty() ? "" : ",") + x;
      std::cout << "agency " << a.agency_id << " (" << a.name << ") purposes: " << (p.empty() ? "none (withdrawn)" : p)
                << "\n";
      return 0;
    }
    if (*migration) {
      Result<Date> first = month.size() == 7 ? Date::parse_iso(month + "-01") : Result<Date>(invalid_argument(""));
      if (!first.ok()) throw Failure{invalid_argument("--month must be YYYY-MM")};
      auto counts = check(app->registry().migration_stats(first->year(), first->month()));
      std::cout << "municipality_code,prefecture,municipality,move_ins,from_municipalities,from_abroad\n";
      for (const auto& c : counts) {
        const Municipality* m = app->reference().find(c.municipality);
        std::cout << c.municipality.str() << "," << (m ? m->prefecture : "") << "," << (m ? m->name : "") << ","
                  << c.from_municipalities + c.from_abroad << "," << c.from_municipalities << "," << c.from_abroad
                  << "\n";
      }
      return 0;
    }
    if (*new_code) {
      auto applied = submit_for_holder(*app, resident_arg, registry::EventType::resident_code_change,
                                       operator_event_id(event_id_arg, "cli-new-code-"));
      std::cout << (applied.replay ? "already applied: " : "") << "resident code " << resident_arg
                << " retired; new resident code\n" << applied.resident.resident_code.str() << "\n";
      return 0;
    }
    if (*reissue) {
      auto applied = submit_for_holder(*app, resident_arg, registry::EventType::my_number_reissue,
                                       operator_event_id(event_id_arg, "cli-reissue-"), reason_arg);
      // The number itself goes out in the notification letter only (jlis mynumber letters).
      std::cout << (applied.replay ? "already applied: " : "") << "My Number of resident "
                << applied.resident.resident_code.str()
                << " reissued; a notification letter is pending for municipality "
                << applied.resident.municipality_code.str() << "\n";
      return 0;
    }
    if (*letters) {
      auto c = LocalGovernmentCode::parse(letters_municipality);
      if (!c.ok()) throw Failure{invalid_argument("--municipality must be a 6-digit local government code")};
      std::vector<numbering::Letter> pending;
      {
        auto conn = check(app->pool().acquire());
        pending = check(app->numbering().pending_letters(*conn, *c));
      }
      std::cout << "municipality_code,resident_code,my_number,name,name_kana,address,reason,created_at\n";
      std::vector<MyNumber> ids;
      for (const auto& l : pending) {
        // The current record of the holder: its code may have changed since the number was issued.
        auto r = app->registry().find_by_my_number(l.my_number);
        std::string name, kana, address, code = l.resident_code.str();
        if (r.ok()) {
          name = r->person.name;
          kana = r->person.name_kana;
          address = r->person.address;
          code = r->resident_code.str();
        }
        std::cout << l.municipality.str() << "," << code << "," << l.my_number.str()
                  << "," << csv_field(name) << "," << csv_field(kana) << "," << csv_field(address) << "," << l.reason
                  << "," << l.created_at << "\n";
        ids.push_back(l.my_number);
      }
      std::cout.flush();
      if (!std::cout) throw Failure{internal_error("writing the CSV failed")};
      if (mark_printed && !ids.empty()) {
        check(app->writer().run([&](store::Connection& conn) { return app->numbering().mark_printed(conn, ids); }));
        std::fprintf(stderr, "marked %zu letters printed\n", ids.size());
      }
      return 0;
    }
    if (*export_cmd) {
      std::optional<LocalGovernmentCode> only;
      if (!export_municipality.empty()) {
        auto c = LocalGovernmentCode::parse(export_municipality);
        if (!c.ok()) throw Failure{invalid_argument("--municipality must be a 6-digit local government code")};
        only = *c;
      }
      if (export_with_my_number != !export_purpose.empty())
        throw Failure{invalid_argument("--with-my-number and --purpose go together: My Numbers leave the register "
                                       "only for a stated purpose")};
      if (export_purpose.size() > 200) throw Failure{invalid_argument("--purpose is longer than 200 characters")};
      // A new file only, created owner-only: never a wider mode, never an existing file or link.
      FILE* file = stdout;
      if (!output.empty()) {
        const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
          throw Failure{invalid_argument("cannot create " + output + ": " + std::strerror(errno) +
                                         (errno == EEXIST ? " (the export never overwrites a file)" : ""))};
        ::fchmod(fd, 0600);  // whatever the umask
        file = ::fdopen(fd, "w");
        if (!file) {
          ::close(fd);
          throw Failure{internal_error("cannot write " + output)};
        }
      }
      bool written = true;
      auto emit = [&](const std::string& line) {
        if (std::fwrite(line.data(), 1, line.size(), file) != line.size()) written = false;
      };
      auto row = [&](const registry::Resident& r) {
        const registry::Person& p = r.person;
        std::string line = r.resident_code.str() + ",";
        if (export_with_my_number) line += (r.my_number ? r.my_number->str() : "") + ",";
        line += csv_field(p.name) + "," + csv_field(p.name_kana) + "," + p.date_of_birth.to_iso() + "," +
                std::string(registry::sex_name(p.sex)) + "," + csv_field(p.address) + "," + r.municipality_code.str() +
                "," + std::string(registry::status_name(r.status)) + "\n";
        emit(line);
      };
      emit(export_with_my_number
               ? "resident_code,my_number,name,name_kana,date_of_birth,sex,address,municipality_code,status\n"
               : "resident_code,name,name_kana,date_of_birth,sex,address,municipality_code,status\n");
      Status listed = Status::ok();
      if (export_with_my_number) {
        // Recorded, as an operator provision each resident can see, before any number is written.
        std::vector<registry::Resident> residents;
        listed = app->registry().for_each_resident(only, [&](const registry::Resident& r) { residents.push_back(r); });
        if (listed.is_ok()) {
          std::vector<ResidentCode> codes;
          for (const auto& r : residents) codes.push_back(r.resident_code);
          const std::string id = "cli-export-" + check(random_hex(8));
          listed = app->registry().record_provision("operator", "運用者 (jlis residents export --with-my-number)",
                                                    export_purpose, codes, id);
          if (listed.is_ok()) {
            for (const auto& r : residents) row(r);
            std::fprintf(stderr, "recorded the provision of %zu My Numbers (request %s)\n", codes.size(), id.c_str());
          }
        }
      } else {
        listed = app->registry().for_each_resident(only, row);
      }
      if (std::fflush(file) != 0) written = false;
      if (file != stdout && std::fclose(file) != 0) written = false;
      if ((!listed.is_ok() || !written) && !output.empty()) ::unlink(output.c_str());  // no partial export
      check(listed);
      if (!written) throw Failure{internal_error("writing the CSV failed")};
      return 0;
    }
  } catch (const Failure& f) {
    std::cerr << "jlis: error: " << f.status.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace jlis::cli
