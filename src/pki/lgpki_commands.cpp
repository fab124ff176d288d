// The `jlis lgpki` subcommands (lgpki_commands.h).
#include "pki/lgpki_commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/csv.h"
#include "pki/lgpki_workflow.h"

namespace jlis::pki {

namespace fs = std::filesystem;

namespace {

fs::path lgpki_config_path(const std::string& data_dir) { return fs::path(data_dir) / "pki" / "lgpki.json"; }

// Writes `data` to `path` whole or not at all: a temporary file beside it, synced, renamed.
Status write_whole(const fs::path& path, const std::string& data, mode_t mode = 0644) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return invalid_argument("cannot write " + path.string());
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return internal_error("writing " + path.string() + " failed");
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return internal_error("writing " + path.string() + " failed");
  }
  return Status::ok();
}

Result<std::string> read_small_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return invalid_argument("no such file: " + path);
  if (fs::file_size(path, ec) > 64 * 1024) return invalid_argument(path + " is larger than a request can be (64 KiB)");
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string pem_of(const std::string& der) {
  auto cert = x509_from_der(der);
  if (!cert.ok()) return "";
  auto pem = x509_pem(cert->get());
  return pem.ok() ? *pem : "";
}

void print(std::ostream& out, const LgpkiApplication& a) {
  out << "application " << a.id << "\n"
      << "  municipality: " << a.municipality_code << "\n"
      << "  profile: " << lgpki_profile_name(a.profile) << "\n"
      << "  organisation: " << a.subject.organisation << "\n";
  if (!a.subject.unit.empty()) out << "  unit: " << a.subject.unit << "\n";
  if (!a.subject.position.empty()) out << "  position: " << a.subject.position << "\n";
  if (!a.subject.common_name.empty()) out << "  common name: " << a.subject.common_name << "\n";
  for (const auto& d : a.subject.dns_names) out << "  dns: " << d << "\n";
  out << "  state: " << lgpki_application_state_name(a.state) << "\n";
  if (!a.key_label.empty()) out << "  key: " << a.key_label << " (in the key store)\n";
  if (!a.serial.empty()) out << "  serial: " << a.serial << "\n";
  for (const auto& s : a.steps)
    out << "  " << s.at << " " << s.step << " by " << s.by << (s.detail.empty() ? "" : " (" + s.detail + ")") << "\n";
}

}  // namespace

bool lgpki_configured(const std::string& data_dir) {
  std::error_code ec;
  return fs::exists(lgpki_config_path(data_dir), ec);
}

Result<std::unique_ptr<LgpkiAuthority>> open_lgpki(const std::string& data_dir, store::Pool& pool,
                                                   store::Writer& writer, KeyStore& keys, LgpkiOptions options) {
  if (!lgpki_configured(data_dir))
    return invalid_argument("the data directory has no LGPKI (create it with: jlis lgpki init --data " + data_dir + ")");
  std::ifstream in(lgpki_config_path(data_dir));
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("public_url") || !j["public_url"].is_string())
    return internal_error(lgpki_config_path(data_dir).string() + " is damaged");
  options.public_url = j["public_url"].get<std::string>();
  return LgpkiAuthority::open(pool, writer, keys, options);
}

struct LgpkiCommands::Options {
  CLI::App *init = nullptr, *apply = nullptr, *review = nullptr, *approve = nullptr, *issue = nullptr,
           *show = nullptr, *list = nullptr, *revoke = nullptr, *revoke_ca = nullptr, *crl = nullptr,
           *rollover = nullptr;
  std::string public_url = "http://127.0.0.1:8080";
  std::string municipality, profile, organisation, unit, position, common_name, csr;
  std::vector<std::string> dns;
  std::string application, refuse, reason = "unspecified", note, out_dir, ca, ca_reason = "cACompromise";
  int generation = 1;
  bool pem = false, request = false;
};

LgpkiCommands::LgpkiCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data,
                             const std::function<void(CLI::App*)>& add_by)
    : o_(std::make_unique<Options>()) {
  Options& o = *o_;
  auto* lgpki = cli.add_subcommand("lgpki",
                                   "LGPKI (地方公共団体組織認証基盤): the CAs and the application workflow; a local "
                                   "government's steps take its token from JLIS_TOKEN")
                    ->require_subcommand(1);
  o.init = lgpki->add_subcommand("init", "Create the LGPKI hierarchy (root and organisation, position, application "
                                         "CAs) with keys where JPKI's are");
  add_data(o.init);
  o.init->add_option("--public-url", o.public_url, "Base of the CRL, CA certificate and OCSP URLs in certificates")
      ->capture_default_str();
  auto add_application = [&](CLI::App* c) {
    add_data(c);
    add_by(c);
    c->add_option("--application", o.application, "Application id (la-...)")->required();
  };
  o.apply = lgpki->add_subcommand("apply", "File an application (JLIS_TOKEN: the government's municipality token); "
                                           "prints its id on the last line");
  add_data(o.apply);
  o.apply->add_option("--municipality", o.municipality, "Local government code (6 digits)")->required();
  o.apply->add_option("--profile", o.profile, "organisation, position, application-server or document-signing")
      ->required();
  o.apply->add_option("--organisation", o.organisation, "The local government's name, e.g. 清瀬市")->required();
  o.apply->add_option("--unit", o.unit, "A department (organisation, application-server, document-signing)");
  o.apply->add_option("--position", o.position, "The position, e.g. 市長 (position only, required there)");
  o.apply->add_option("--common-name", o.common_name, "CN (required for organisation and document-signing)");
  o.apply->add_option("--dns", o.dns, "DNS names (application-server only, required there)")->delimiter(',');
  o.apply->add_option("--csr", o.csr,
                      "A PKCS#10 request (PEM or DER) made elsewhere; without it the key pair is generated in the key "
                      "store and the request made here");
  o.review = lgpki->add_subcommand("review", "The registration sub-authority approves (or --refuse) a filed "
                                             "application (JLIS_TOKEN: its lgpki-registration token)");
  add_application(o.review);
  o.review->add_option("--refuse", o.refuse, "Refuse, with this reason");
  o.approve = lgpki->add_subcommand("approve", "J-LIS approves (or --refuse) a reviewed application");
  add_application(o.approve);
  o.approve->add_option("--refuse", o.refuse, "Refuse, with this reason");
  o.issue = lgpki->add_subcommand("issue", "J-LIS issues an approved application's certificate; prints it (PEM)");
  add_application(o.issue);
  o.show = lgpki->add_subcommand("show", "An application and its steps");
  add_application(o.show);
  o.show->add_flag("--pem", o.pem, "Print only the delivered certificate (PEM)");
  o.list = lgpki->add_subcommand("list", "The applications as CSV: id,municipality,profile,state,serial,filed_at");
  add_data(o.list);
  add_by(o.list);
  o.list->add_option("--municipality", o.municipality, "Only this local government's");
  o.revoke = lgpki->add_subcommand("revoke", "With --request: the sub-authority asks for the revocation of an issued "
                                             "certificate (JLIS_TOKEN: its lgpki-registration token); without: J-LIS "
                                             "carries a requested revocation out");
  add_application(o.revoke);
  o.revoke->add_flag("--request", o.request, "Ask for the revocation (the sub-authority)");
  o.revoke->add_option("--reason", o.reason,
                       "With --request: unspecified, keyCompromise, affiliationChanged, superseded, "
                       "cessationOfOperation or privilegeWithdrawn")
      ->capture_default_str();
  o.revoke->add_option("--note", o.note, "With --request: why, in words (recorded)");
  o.revoke_ca = lgpki->add_subcommand("revoke-ca", "J-LIS revokes an issuing CA of a generation (a compromised key): "
                                                   "it issues no more and its generation's ARL lists it, so relying "
                                                   "parties that read the ARL refuse its certificates");
  add_data(o.revoke_ca);
  add_by(o.revoke_ca);
  o.revoke_ca->add_option("--ca", o.ca, "organisation, position or application")->required();
  o.revoke_ca->add_option("--generation", o.generation, "The CA's generation")->capture_default_str();
  o.revoke_ca->add_option("--reason", o.ca_reason,
                          "cACompromise, keyCompromise, affiliationChanged, superseded or cessationOfOperation")
      ->capture_default_str();
  o.crl = lgpki->add_subcommand("crl", "Make every generation's CRLs and ARL now and write them as <name>.crl");
  add_data(o.crl);
  o.crl->add_option("--out", o.out_dir, "Directory to write them to (default: DIR/lgpki/crl)");
  o.rollover = lgpki->add_subcommand("rollover", "A new generation: new root key with link certificates, new issuing "
                                                 "CAs; new certificates come from it");
  add_data(o.rollover);
}

LgpkiCommands::~LgpkiCommands() = default;

bool LgpkiCommands::chosen() const {
  const Options& o = *o_;
  for (CLI::App* c :
       {o.init, o.apply, o.review, o.approve, o.issue, o.show, o.list, o.revoke, o.revoke_ca, o.crl, o.rollover})
    if (*c) return true;
  return false;
}

Status LgpkiCommands::check_arguments() const {
  const Options& o = *o_;
  if (*o.apply) {
    JLIS_ASSIGN_OR_RETURN(LgpkiProfile profile, parse_lgpki_profile(o.profile));
    LgpkiSubject s{o.municipality, o.organisation, o.unit, o.position, o.common_name, o.dns};
    JLIS_RETURN_IF_ERROR(check_lgpki_subject(profile, s));
    if (!o.csr.empty()) JLIS_RETURN_IF_ERROR(read_small_file(o.csr).status());
  }
  if (*o.revoke) {
    if (!o.request && (o.reason != "unspecified" || !o.note.empty()))
      return invalid_argument("--reason and --note go with --request (J-LIS carries out the reason requested)");
    if (o.request) JLIS_RETURN_IF_ERROR(parse_reason(o.reason).status());
  }
  if (*o.revoke_ca) {
    JLIS_RETURN_IF_ERROR(parse_lgpki_ca(o.ca).status());
    JLIS_RETURN_IF_ERROR(parse_reason(o.ca_reason).status());
  }
  if (o.refuse.empty() && o.review->count("--refuse") + o.approve->count("--refuse") > 0)
    return invalid_argument("--refuse needs a reason");
  return Status::ok();
}

Status LgpkiCommands::run(const LgpkiCommandContext& ctx, std::ostream& out) {
  Options& o = *o_;
  JLIS_RETURN_IF_ERROR(check_arguments());
  // The caller: JLIS_TOKEN's, or the operator on the data directory (J-LIS's steps only).
  auto government = [&](const char* what) -> Result<auth::Principal> {
    if (ctx.token.empty()) return unauthenticated(std::string("set JLIS_TOKEN to ") + what);
    return ctx.directory->authenticate(ctx.token);
  };
  auto jlis = [&]() -> Result<auth::Principal> {
    if (!ctx.token.empty()) return ctx.directory->authenticate(ctx.token);
    return auth::Principal{auth::Role::operator_, ctx.operator_identity, ctx.operator_identity, {}};
  };

  if (*o.init) {
    if (lgpki_configured(ctx.data_dir)) return conflict("the LGPKI hierarchy exists already in " + ctx.data_dir);
    if (!(o.public_url.starts_with("http://") || o.public_url.starts_with("https://")))
      return invalid_argument("--public-url is an http:// or https:// URL");
    JLIS_ASSIGN_OR_RETURN(KeyStore * keys, ctx.keys());
    LgpkiOptions options;
    options.public_url = o.public_url;
    JLIS_ASSIGN_OR_RETURN(auto lgpki, LgpkiAuthority::open(*ctx.pool, *ctx.writer, *keys, options));
    // The record first, taken back when the hierarchy is not made: DIR never names a hierarchy the
    // store lacks.
    JLIS_RETURN_IF_ERROR(write_whole(lgpki_config_path(ctx.data_dir), nlohmann::json{{"public_url", o.public_url}}.dump(2) + "\n"));
    if (Status made = lgpki->init(); !made.is_ok()) {
      std::error_code ec;
      fs::remove(lgpki_config_path(ctx.data_dir), ec);
      return made;
    }
    out << "created the LGPKI hierarchy (generation 1) in " << ctx.data_dir << "; its URLs under " << o.public_url
        << "\n";
    JLIS_ASSIGN_OR_RETURN(auto list, lgpki->ca_certificates());
    for (const auto& c : list) out << "  " << c.name << "\n";
    return Status::ok();
  }
  if (*o.list || *o.show) {
    // A government's token (JLIS_TOKEN) sees its own applications only; the operator all.
    JLIS_ASSIGN_OR_RETURN(auth::Principal caller, jlis());
    JLIS_ASSIGN_OR_RETURN(KeyStore * keys, ctx.keys());
    JLIS_ASSIGN_OR_RETURN(auto lgpki, open_lgpki(ctx.data_dir, *ctx.pool, *ctx.writer, *keys));
    LgpkiWorkflow workflow(*ctx.pool, *ctx.writer, *lgpki);
    if (*o.show) {
      JLIS_ASSIGN_OR_RETURN(LgpkiApplication a, workflow.get(caller, o.application));
      if (o.pem) {
        if (a.certificate_der.empty())
          return conflict("LGPKI application " + a.id + " is " + std::string(lgpki_application_state_name(a.state)) +
                          ": no certificate has been issued");
        out << pem_of(a.certificate_der);
      } else {
        print(out, a);
      }
      return Status::ok();
    }
    JLIS_ASSIGN_OR_RETURN(auto list, workflow.list(caller, o.municipality));
    out << "id,municipality,profile,state,serial,filed_at\n";
    for (const auto& a : list)
      out << a.id << "," << a.municipality_code << "," << lgpki_profile_name(a.profile) << ","
          << lgpki_application_state_name(a.state) << "," << a.serial << ","
          << (a.steps.empty() ? "" : a.steps.front().at) << "\n";
    return Status::ok();
  }

  JLIS_ASSIGN_OR_RETURN(KeyStore * keys, ctx.keys());
  JLIS_ASSIGN_OR_RETURN(auto lgpki, open_lgpki(ctx.data_dir, *ctx.pool, *ctx.writer, *keys));
  if (!lgpki->exists()) return internal_error("DIR/pki/lgpki.json is there but the store has no LGPKI hierarchy");
  LgpkiWorkflow workflow(*ctx.pool, *ctx.writer, *lgpki);

  if (*o.apply) {
    JLIS_ASSIGN_OR_RETURN(auth::Principal caller, government("the local government's municipality token"));
    // Checked again where the application is written; here so that no key is made for a refusal.
    if (!(caller.role == auth::Role::municipality && caller.subject == o.municipality))
      return permission_denied("a local government files LGPKI applications for itself only, with its own token");
    LgpkiFiling f;
    JLIS_ASSIGN_OR_RETURN(f.profile, parse_lgpki_profile(o.profile));
    f.subject = {o.municipality, o.organisation, o.unit, o.position, o.common_name, o.dns};
    if (!o.csr.empty()) {
      JLIS_ASSIGN_OR_RETURN(f.request, read_small_file(o.csr));
    } else {
      JLIS_ASSIGN_OR_RETURN(LgpkiKeyAndRequest made, make_key_and_request(*keys, f.profile, o.municipality));
      f.request = made.request;
      f.key_label = made.key_label;
      f.id = made.id;
    }
    JLIS_ASSIGN_OR_RETURN(LgpkiApplication a, workflow.file(caller, f));
    print(out, a);
    out << a.id << "\n";
    return Status::ok();
  }
  if (*o.review) {
    JLIS_ASSIGN_OR_RETURN(auth::Principal caller, government("the sub-authority's lgpki-registration token"));
    JLIS_ASSIGN_OR_RETURN(LgpkiApplication a, workflow.review(caller, o.application, o.review->count("--refuse") == 0, o.refuse));
    print(out, a);
    return Status::ok();
  }
  if (*o.approve) {
    JLIS_ASSIGN_OR_RETURN(auth::Principal caller, jlis());
    JLIS_ASSIGN_OR_RETURN(LgpkiApplication a, workflow.approve(caller, o.application, o.approve->count("--refuse") == 0, o.refuse));
    print(out, a);
    return Status::ok();
  }
  if (*o.issue) {
    JLIS_ASSIGN_OR_RETURN(auth::Principal caller, jlis());
    JLIS_ASSIGN_OR_RETURN(LgpkiApplication a, workflow.issue(caller, o.application));
    out << pem_of(a.certificate_der);
    return Status::ok();
  }
  if (*o.revoke) {
    if (o.request) {
      JLIS_ASSIGN_OR_RETURN(auth::Principal caller, government("the sub-authority's lgpki-registration token"));
      JLIS_ASSIGN_OR_RETURN(RevocationReason reason, parse_reason(o.reason));
      JLIS_ASSIGN_OR_RETURN(LgpkiApplication a, workflow.request_revocation(caller, o.application, reason, o.note));
      print(out, a);
      return Status::ok();
    }
    JLIS_ASSIGN_OR_RETURN(auth::Principal caller, jlis());
    JLIS_ASSIGN_OR_RETURN(LgpkiApplication a, workflow.revoke(caller, o.application));
    print(out, a);
    return Status::ok();
  }
  if (*o.revoke_ca) {
    JLIS_ASSIGN_OR_RETURN(auth::Principal caller, jlis());
    if (caller.role != auth::Role::operator_) return permission_denied("only J-LIS's operator revokes an LGPKI CA");
    JLIS_ASSIGN_OR_RETURN(LgpkiCa ca, parse_lgpki_ca(o.ca));
    JLIS_ASSIGN_OR_RETURN(RevocationReason reason, parse_reason(o.ca_reason));
    JLIS_RETURN_IF_ERROR(lgpki->revoke_ca(ca, o.generation, reason));
    out << "revoked the LGPKI " << lgpki_ca_name(ca) << " CA of generation " << o.generation << " ("
        << o.ca_reason << ", by " << caller.subject << "); the ARL " << lgpki_arl_name(o.generation)
        << " lists it from its next issue\n";
    return Status::ok();
  }
  if (*o.crl) {
    const fs::path dir = o.out_dir.empty() ? fs::path(ctx.data_dir) / "lgpki" / "crl" : fs::path(o.out_dir);
    std::vector<std::pair<std::string, std::string>> lists;  // all made before any is written
    for (int g = 1; g <= lgpki->generation(); ++g) {
      for (LgpkiCa ca : {LgpkiCa::organisation, LgpkiCa::position, LgpkiCa::application}) {
        JLIS_ASSIGN_OR_RETURN(std::string der, lgpki->make_crl(ca, g));
        lists.emplace_back(lgpki_crl_name(ca, g), std::move(der));
      }
      JLIS_ASSIGN_OR_RETURN(std::string arl, lgpki->make_arl(g));
      lists.emplace_back(lgpki_arl_name(g), std::move(arl));
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return invalid_argument("cannot create " + dir.string());
    for (const auto& [name, der] : lists) {
      JLIS_RETURN_IF_ERROR(write_whole(dir / (name + ".crl"), der));
      out << (dir / (name + ".crl")).string() << "\n";
    }
    return Status::ok();
  }
  if (*o.rollover) {
    JLIS_ASSIGN_OR_RETURN(int n, lgpki->new_generation());
    out << "LGPKI generation " << n << ": new root (with link certificates) and issuing CAs; new certificates come "
        << "from it\n";
    return Status::ok();
  }
  return internal_error("no lgpki subcommand chosen");
}

}  // namespace jlis::pki
