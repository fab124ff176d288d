#include "kiosk/commands.h"

#include <fstream>
#include <ostream>

#include "common/csv.h"
#include "http/server.h"
#include "kiosk/card_key_pool.h"
#include "kiosk/service_hours.h"
#include "kiosk/stats.h"
#include "kiosk/terminals.h"
#include "kiosk/centre.h"
#include "kiosk/screen.h"
#include "kiosk/simulate.h"
#include "kiosk/virtual_card.h"
#include "pki/openssl.h"

namespace jlis::kiosk {

using card::CardSecret;

struct CardCommands::Options {
  CLI::App* make = nullptr;
  CLI::App* reset = nullptr;
  std::string card_id, pin, password, output;
  std::string municipality, card_file, secret, new_secret;
};

CardCommands::CardCommands(CLI::App& cards, const std::function<void(CLI::App*)>& add_data)
    : o_(std::make_unique<Options>()) {
  Options& o = *o_;
  o.make = cards.add_subcommand("virtual", "Write a virtual card (the chip's keys and secrets) for a simulated card");
  add_data(o.make);
  o.make->add_option("--card", o.card_id, "The card id")->required();
  o.make->add_option("--pin", o.pin, "The user-authentication PIN: 4 digits")->required();
  o.make->add_option("--password", o.password,
                     "The signature password: 6 to 16 of A-Z and 0-9 (without it the card carries only the "
                     "user-authentication key)");
  o.make->add_option("--output", o.output, "The card file to write")->required();

  o.reset = cards.add_subcommand("pin-reset", "Reset a card's locked or forgotten secret at the municipal window");
  add_data(o.reset);
  o.reset->add_option("--municipality", o.municipality, "The holder's municipality (the window)")->required();
  o.reset->add_option("--card-file", o.card_file, "The virtual card")->required();
  o.reset->add_option("--secret", o.secret, "authentication_pin or signature_password")->required();
  o.reset->add_option("--new-secret", o.new_secret, "The new PIN or password")->required();
}

CardCommands::~CardCommands() = default;

bool CardCommands::chosen() const { return *o_->make || *o_->reset; }

Status CardCommands::check_arguments() const {
  const Options& o = *o_;
  if (*o.make) {
    JLIS_RETURN_IF_ERROR(check_secret_form(CardSecret::authentication_pin, o.pin));
    if (!o.password.empty()) JLIS_RETURN_IF_ERROR(check_secret_form(CardSecret::signature_password, o.password));
  }
  if (*o.reset) {
    JLIS_ASSIGN_OR_RETURN(CardSecret which, card::parse_card_secret(o.secret));
    JLIS_RETURN_IF_ERROR(check_secret_form(which, o.new_secret));
    JLIS_RETURN_IF_ERROR(LocalGovernmentCode::parse(o.municipality).status());
  }
  return Status::ok();
}

Status CardCommands::run(const std::string& data_dir, store::Pool& pool, card::CardSystem& cards,
                         pki::CertificateAuthority* ca, std::ostream& out) {
  Options& o = *o_;
  JLIS_RETURN_IF_ERROR(check_arguments());
  if (*o.reset) {
    JLIS_ASSIGN_OR_RETURN(VirtualCard card, VirtualCard::load(o.card_file));
    JLIS_ASSIGN_OR_RETURN(CardSecret which, card::parse_card_secret(o.secret));
    if (!card.slot(which)) return not_found("the card has no signature key");
    const auth::Principal window{auth::Role::municipality, o.municipality, o.municipality, {}};
    JLIS_RETURN_IF_ERROR(cards.reset_pin(window, card.card_id(), which).status());
    JLIS_RETURN_IF_ERROR(card.reset(which, o.new_secret));
    JLIS_RETURN_IF_ERROR(card.save(o.card_file));
    out << "reset the " << o.secret << " of card " << card.card_id() << "\n";
    return Status::ok();
  }
  if (ca == nullptr) return invalid_argument("the data directory has no CA (jlis ca init)");
  JLIS_ASSIGN_OR_RETURN(auto conn, pool.acquire());
  JLIS_ASSIGN_OR_RETURN(card::Card held, cards.card(*conn, o.card_id));
  conn.reset();
  JLIS_ASSIGN_OR_RETURN(CardKeyPool keys, CardKeyPool::load(data_dir));
  // The card's newest certificate of each kind, whatever its status: the chip holds its keys.
  const auth::Principal holder_municipality{auth::Role::municipality, held.municipality_code.str(),
                                            held.municipality_code.str(), {}};
  JLIS_ASSIGN_OR_RETURN(auto records, ca->certificates_of(holder_municipality, held.resident_code, "", "cli:card-virtual"));
  std::optional<std::string> authentication, signature;
  for (const auto& r : records) {
    if (r.card_id != o.card_id || r.device != pki::Device::card) continue;
    JLIS_ASSIGN_OR_RETURN(auto cert, pki::x509_from_der(r.der));
    JLIS_ASSIGN_OR_RETURN(std::string pem, pki::x509_pem(cert.get()));
    (r.kind == pki::CertificateKind::authentication ? authentication : signature) = std::move(pem);
  }
  if (!authentication) return not_found("the card " + o.card_id + " has no user-authentication certificate");
  JLIS_ASSIGN_OR_RETURN(std::string authentication_key, keys.private_key_for(*authentication));
  std::optional<std::string> signature_key;
  if (!o.password.empty()) {
    if (!signature) return not_found("the card " + o.card_id + " has no signature certificate (holder under 15)");
    JLIS_ASSIGN_OR_RETURN(signature_key, keys.private_key_for(*signature));
  } else {
    signature.reset();
  }
  JLIS_ASSIGN_OR_RETURN(VirtualCard card, VirtualCard::make(o.card_id, *authentication, authentication_key, o.pin,
                                                            signature, signature_key, o.password));
  JLIS_RETURN_IF_ERROR(card.save(o.output));
  out << "wrote the virtual card " << o.card_id << " to " << o.output
      << (signature ? " (user-authentication and signature keys)\n" : " (user-authentication key)\n");
  return Status::ok();
}

struct KioskCommands::Options {
  CLI::App *operator_add = nullptr, *operator_list = nullptr;
  CLI::App *terminal_add = nullptr, *terminal_disable = nullptr, *terminal_list = nullptr;
  CLI::App* municipal_server = nullptr;
  CLI::App* hours = nullptr;
  std::string opens, closes, closed;
  CLI::App* stats = nullptr;
  std::string month;
  CLI::App* simulate = nullptr;
  SimulateOptions simulation;
  CLI::App* screen = nullptr;
  ScreenOptions screen_options;
  std::string listen = "127.0.0.1:8090";
  int idle_seconds = 120;
  double print_seconds = 2;
  std::string name, operator_name, store_id, output, terminal_id, municipality, url;
};

KioskCommands::KioskCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data)
    : o_(std::make_unique<Options>()) {
  Options& o = *o_;
  auto* kiosk = cli.add_subcommand("kiosk", "The convenience-store issuance centre: operators and terminals")
                    ->require_subcommand(1);
  auto* operators = kiosk->add_subcommand("operator", "Kiosk operators (convenience-store chains)")->require_subcommand(1);
  o.operator_add = operators->add_subcommand("add", "Register an operator");
  add_data(o.operator_add);
  o.operator_add->add_option("--name", o.name, "The operator's name")->required();
  o.operator_list = operators->add_subcommand("list", "List the operators");
  add_data(o.operator_list);
  auto* terminals = kiosk->add_subcommand("terminal", "Kiosk terminals and their credentials")->require_subcommand(1);
  o.terminal_add = terminals->add_subcommand("add", "Add a terminal; its credential goes to a new file (mode 0600)");
  add_data(o.terminal_add);
  o.terminal_add->add_option("--operator", o.operator_name, "The operator's name")->required();
  o.terminal_add->add_option("--store", o.store_id, "The operator's id of the store")->required();
  o.terminal_add->add_option("--output", o.output, "The credential file to create")->required();
  o.terminal_disable = terminals->add_subcommand("disable", "Disable a terminal: refused at once, for good");
  add_data(o.terminal_disable);
  o.terminal_disable->add_option("--terminal", o.terminal_id, "The terminal id (kt-...)")->required();
  o.terminal_list = terminals->add_subcommand("list", "List the terminals as CSV");
  add_data(o.terminal_list);
  o.municipal_server = kiosk->add_subcommand(
      "municipal-server", "Where a municipality's issuance server answers the centre (default: the centre's own URL)");
  add_data(o.municipal_server);
  o.municipal_server->add_option("--code", o.municipality, "The municipality code")->required();
  o.municipal_server->add_option("--url", o.url, "The server's base URL, http://HOST:PORT")->required();
  o.hours = kiosk->add_subcommand("hours", "Show the service hours, or set them with all three options");
  add_data(o.hours);
  o.hours->add_option("--opens", o.opens, "Opening time in Japan, HH:MM (default 06:30)");
  o.hours->add_option("--closes", o.closes, "Closing time in Japan, HH:MM (default 23:00; 24:00 is midnight)");
  o.hours->add_option("--closed", o.closed, "Days closed, MM-DD..MM-DD comma-separated, or none (default 12-29..01-03)");
  o.stats = kiosk->add_subcommand("stats", "A month's kiosk documents per municipality, document type and operator (CSV)");
  add_data(o.stats);
  o.stats->add_option("--month", o.month, "The month, YYYY-MM (Japan time)")->required();
  o.simulate = kiosk->add_subcommand("simulate", "Play a kiosk terminal against a running centre with a virtual card");
  SimulateOptions& sim = o.simulation;
  o.simulate->add_option("--centre", sim.centre_url, "The centre's URL, http://HOST:PORT")->required();
  o.simulate->add_option("--terminal-credential", sim.credential_file, "The terminal's credential file")->required();
  o.simulate->add_option("--card", sim.card_file, "The virtual card file (jlis card virtual)")->required();
  o.simulate->add_option("--pin", sim.pin, "The user-authentication PIN, as entered on the PIN pad")->required();
  o.simulate->add_option("--document", sim.document,
                         "The document: juminhyo, kisai-jiko, inkan, koseki, koseki-fuhyo, kazei")->required();
  o.simulate->add_option("--municipality", sim.municipality,
                         "The municipality to ask when not the holder's (the 本籍地 holding their 戸籍 and 附票)");
  o.simulate->add_option("--copies", sim.copies, "Copies (1 to 10)")->capture_default_str();
  o.simulate->add_option("--output", sim.output, "The PDF file to write (new)")->required();
  o.screen = kiosk->add_subcommand("screen", "Serve a kiosk's touch screen for a person to use in a browser");
  ScreenOptions& screen = o.screen_options;
  o.screen->add_option("--centre", screen.centre_url, "The centre's URL, http://HOST:PORT")->required();
  o.screen->add_option("--terminal-credential", screen.credential_file, "The terminal's credential file")->required();
  o.screen->add_option("--card", screen.card_files, "A virtual card the reader offers (repeat for more)")->required();
  o.screen->add_option("--listen", o.listen, "HOST:PORT to serve the screen on")->capture_default_str();
  o.screen->add_option("--idle-timeout", o.idle_seconds, "Seconds untouched after which the screen forgets the resident")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  o.screen->add_option("--print-seconds", o.print_seconds, "The simulated printer's time for a document")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 60.0));
}

KioskCommands::~KioskCommands() = default;

bool KioskCommands::standalone() const { return o_->simulate->parsed() || o_->screen->parsed(); }

Status KioskCommands::run_standalone(std::ostream& out) {
  Options& o = *o_;
  if (o.simulate->parsed()) return simulate_kiosk(o.simulation, out);
  JLIS_ASSIGN_OR_RETURN(auto address, http::parse_listen(o.listen));
  o.screen_options.host = address.first;
  o.screen_options.port = address.second;
  o.screen_options.idle_timeout = std::chrono::seconds(o.idle_seconds);
  o.screen_options.print_time = std::chrono::milliseconds(static_cast<int64_t>(o.print_seconds * 1000));
  Screen screen(o.screen_options);
  JLIS_RETURN_IF_ERROR(screen.start());
  // The first line names the bound address (with --listen HOST:0, the port chosen).
  out << "jlis kiosk screen on http://" << o.screen_options.host << ":" << screen.port() << "/" << std::endl;
  screen.wait();
  screen.stop();
  return Status::ok();
}

bool KioskCommands::chosen() const {
  const Options& o = *o_;
  return *o.operator_add || *o.operator_list || *o.terminal_add || *o.terminal_disable || *o.terminal_list ||
         *o.municipal_server || *o.hours || *o.stats || *o.simulate || *o.screen;
}

Status KioskCommands::run(store::Pool& pool, store::Writer& writer, std::ostream& out) {
  Options& o = *o_;
  Terminals terminals(pool, writer);
  if (*o.operator_add) {
    JLIS_RETURN_IF_ERROR(terminals.add_operator(o.name));
    out << "registered the operator " << o.name << "\n";
  } else if (*o.operator_list) {
    JLIS_ASSIGN_OR_RETURN(auto names, terminals.operators());
    out << "name\n";
    for (const auto& n : names) out << csv_field(n) << "\n";
  } else if (*o.terminal_add) {
    if (std::ifstream(o.output).good())
      return invalid_argument(o.output + " exists: a credential is written to a new file only");
    JLIS_ASSIGN_OR_RETURN(TerminalCredential c, terminals.add_terminal(o.operator_name, o.store_id));
    if (Status written = write_credential(o.output, c); !written.is_ok()) {
      // The credential never reached its file: the terminal is of no use, so it is disabled.
      (void)terminals.disable_terminal(c.terminal.terminal_id);
      return written;
    }
    out << "added the terminal " << c.terminal.terminal_id << " of " << o.operator_name << " at store " << o.store_id
        << "; its credential is in " << o.output << "\n"
        << c.terminal.terminal_id << "\n";
  } else if (*o.terminal_disable) {
    JLIS_RETURN_IF_ERROR(terminals.disable_terminal(o.terminal_id));
    out << "disabled the terminal " << o.terminal_id << "\n";
  } else if (*o.terminal_list) {
    JLIS_ASSIGN_OR_RETURN(auto all, terminals.terminals());
    out << "terminal_id,operator,store_id,added_at,disabled_at\n";
    for (const auto& t : all)
      out << t.terminal_id << "," << csv_field(t.operator_name) << "," << csv_field(t.store_id) << "," << t.added_at
          << "," << t.disabled_at.value_or("") << "\n";
  } else if (*o.municipal_server) {
    JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, LocalGovernmentCode::parse(o.municipality));
    JLIS_RETURN_IF_ERROR(Centre::set_municipal_server(writer, code, o.url));
    out << "the centre asks " << code.str() << "'s issuance server at " << o.url << "\n";
  } else if (*o.hours) {
    const int given = !o.opens.empty() + !o.closes.empty() + !o.closed.empty();
    if (given != 0 && given != 3) return invalid_argument("set the hours with --opens, --closes and --closed together");
    if (given == 3) {
      JLIS_ASSIGN_OR_RETURN(ServiceHours hours, ServiceHours::parse(o.opens, o.closes, o.closed));
      JLIS_RETURN_IF_ERROR(writer.run([&](store::Connection& conn) { return hours.save(conn); }));
    }
    JLIS_ASSIGN_OR_RETURN(auto conn, pool.acquire());
    JLIS_ASSIGN_OR_RETURN(ServiceHours hours, ServiceHours::load(*conn));
    out << "kiosk service hours (Japan time): " << hours.describe() << "\n";
  } else if (*o.stats) {
    JLIS_ASSIGN_OR_RETURN(Date month, Date::parse_month(o.month));
    JLIS_ASSIGN_OR_RETURN(auto conn, pool.acquire());
    JLIS_ASSIGN_OR_RETURN(MonthlyStats stats, monthly_stats(*conn, month));
    out << stats_csv(stats);
  }
  return Status::ok();
}

}  // namespace jlis::kiosk
