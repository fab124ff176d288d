#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/app.h"
#include "http/server.h"
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

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::pair<std::string, uint16_t> parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw Failure{invalid_argument("--listen must be HOST:PORT")};
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) throw Failure{invalid_argument("--listen has an invalid port")};
  return {listen.substr(0, colon), static_cast<uint16_t>(port)};
}

}  // namespace

int run(int argc, char** argv) {
  // Logs go to stderr: stdout carries what a command answers (tokens, CSV, the bound address).
  spdlog::set_default_logger(spdlog::stderr_color_mt("jlis"));
  CLI::App cli{"OpenJLIS: the resident register network, numbering, cards and JPKI", "jlis"};
  cli.require_subcommand(1);
  cli.set_help_all_flag("--help-all", "Every command's help");
  std::string data, reference;
  auto add_data = [&](CLI::App* c) {
    c->add_option("--data", data, "Data directory")->required();
    c->add_option("--reference", reference, "Reference data directory (default: " + ReferenceData::default_dir() + ")");
  };

  auto* init = cli.add_subcommand("init", "Create a data directory (or upgrade its schema)");
  init->add_option("--data", data, "Data directory")->required();

  auto* serve = cli.add_subcommand("serve", "Serve the HTTP API");
  add_data(serve);
  std::string listen = "127.0.0.1:8080", components = "registry";
  int threads = 0;
  serve->add_option("--listen", listen, "HOST:PORT to listen on")->capture_default_str();
  serve->add_option("--components", components, "Components to serve, comma-separated")->capture_default_str();
  serve->add_option("--threads", threads, "Worker threads (0: 4 per core)");

  auto* population = cli.add_subcommand("population", "Synthetic populations")->require_subcommand(1);
  auto* generate = population->add_subcommand("generate", "Create residents through the municipalities' event path");
  add_data(generate);
  int64_t count = 0;
  uint64_t seed = 1;
  generate->add_option("--count", count, "Residents to create")->required()->check(CLI::NonNegativeNumber);
  generate->add_option("--seed", seed, "Random seed")->capture_default_str();

  auto* agency = cli.add_subcommand("agency", "Agencies that query identity information")->require_subcommand(1);
  auto* agency_add = agency->add_subcommand("add", "Register an agency; prints its token on the last line");
  add_data(agency_add);
  std::string name;
  std::vector<std::string> purposes;
  agency_add->add_option("--name", name, "Agency name")->required();
  agency_add->add_option("--purposes", purposes, "Granted purposes")->required()->delimiter(',');
  auto* agency_list = agency->add_subcommand("list", "List the agencies and their purposes");
  add_data(agency_list);

  auto* municipality = cli.add_subcommand("municipality", "Municipalities")->require_subcommand(1);
  auto* muni_token = municipality->add_subcommand("token", "Create a municipality token; prints it on the last line");
  add_data(muni_token);
  std::string code;
  muni_token->add_option("--code", code, "Local government code (6 digits)")->required();

  auto* token = cli.add_subcommand("token", "Tokens of the other roles")->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "Create a token; prints it on the last line");
  add_data(token_create);
  std::string role, subject;
  token_create->add_option("--role", role, "card-centre, call-centre, verifier or operator")->required();
  token_create->add_option("--name", subject, "Who holds it");

  auto* stats = cli.add_subcommand("stats", "Statistics")->require_subcommand(1);
  auto* migration = stats->add_subcommand("migration", "Move-ins per municipality in a month, as CSV");
  add_data(migration);
  std::string month;
  migration->add_option("--month", month, "YYYY-MM")->required();

  auto* residents = cli.add_subcommand("residents", "Residents")->require_subcommand(1);
  auto* export_cmd = residents->add_subcommand("export", "Write the current residents as CSV");
  add_data(export_cmd);
  std::string export_municipality, output;
  export_cmd->add_option("--municipality", export_municipality, "Only this municipality");
  export_cmd->add_option("--output", output, "File to write (default: standard output)");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  try {
    if (*init) {
      check(App::init(data));
      std::cout << "initialised " << data << "\n";
      return 0;
    }
    auto app = check(App::open(data, reference));

    if (*serve) {
      auto [host, port] = parse_listen(listen);
      std::stringstream list(components);
      for (std::string c; std::getline(list, c, ',');)
        if (c != "registry") throw Failure{invalid_argument("unknown component '" + c + "' (available: registry)")};
      http::ServerOptions options;
      options.host = host;
      options.port = port;
      options.worker_threads = threads;
      http::Server server(options);
      registry::add_routes(server, app->registry(), app->directory());
      server.add_metrics_source([&] { return app->writer().metrics(); });
      check(server.start());
      // The first line on stdout names the bound address (with --listen HOST:0, the port chosen).
      std::printf("jlis serving %s on http://%s:%u\n", components.c_str(), host.c_str(), server.port());
      std::fflush(stdout);
      server.wait();
      server.stop();
      return 0;
    }
    if (*generate) {
      Progress progress("residents");
      registry::PopulationOptions options;
      options.count = count;
      options.seed = seed;
      options.progress = [&](int64_t done, int64_t total) { progress.update(done, total); };
      auto start = std::chrono::steady_clock::now();
      auto report = check(registry::generate_population(app->registry(),
                                                        reference.empty() ? ReferenceData::default_dir() : reference,
                                                        options));
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("created %lld residents with %lld events in %.1f s (%.0f residents/s, %llu transactions)\n",
                  static_cast<long long>(report.residents), static_cast<long long>(report.events), secs,
                  static_cast<double>(report.residents) / std::max(secs, 1e-9),
                  static_cast<unsigned long long>(app->writer().commits()));
      if (report.refused > 0) {
        std::fprintf(stderr, "jlis: %lld events were refused; the first: %s\n",
                     static_cast<long long>(report.refused), report.first_refusal.c_str());
        return 1;
      }
      return 0;
    }
    if (*agency_add) {
      auto [a, t] = check(app->directory().add_agency(name, purposes));
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
      std::string t = check(app->directory().create_token(auth::Role::municipality, c->str(), m->name));
      std::cout << "token for " << m->prefecture << m->name << " (" << c->str() << ")\n" << t << "\n";
      return 0;
    }
    if (*token_create) {
      auth::Role r = check(auth::parse_role(role));
      if (r == auth::Role::municipality || r == auth::Role::agency)
        throw Failure{invalid_argument("use 'jlis municipality token' or 'jlis agency add' for that role")};
      std::string holder = subject.empty() ? std::string(auth::role_name(r)) : subject;
      std::cout << "token for " << auth::role_name(r) << " (" << holder << ")\n"
                << check(app->directory().create_token(r, holder, holder)) << "\n";
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
    if (*export_cmd) {
      std::optional<LocalGovernmentCode> only;
      if (!export_municipality.empty()) {
        auto c = LocalGovernmentCode::parse(export_municipality);
        if (!c.ok()) throw Failure{invalid_argument("--municipality must be a 6-digit local government code")};
        only = *c;
      }
      std::ofstream file;
      if (!output.empty()) {
        file.open(output);
        if (!file) throw Failure{invalid_argument("cannot write " + output)};
      }
      std::ostream& out = output.empty() ? std::cout : file;
      const char* fields[] = {"resident_code", "my_number", "name", "name_kana", "date_of_birth",
                              "sex", "address", "municipality_code", "status"};
      for (size_t i = 0; i < std::size(fields); ++i) out << (i ? "," : "") << fields[i];
      out << "\n";
      check(app->registry().for_each_resident(only, [&](const registry::Resident& r) {
        const registry::Person& p = r.person;
        out << r.resident_code.str() << "," << (r.my_number ? r.my_number->str() : "") << "," << csv_field(p.name)
            << "," << csv_field(p.name_kana) << "," << p.date_of_birth.to_iso() << ","
            << registry::sex_name(p.sex) << "," << csv_field(p.address) << "," << r.municipality_code.str() << ","
            << registry::status_name(r.status) << "\n";
      }));
      out.flush();
      if (!out) throw Failure{internal_error("writing the CSV failed")};
      return 0;
    }
  } catch (const Failure& f) {
    std::cerr << "jlis: error: " << f.status.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace jlis::cli
