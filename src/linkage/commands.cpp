#include "linkage/commands.h"

#include <ctime>
#include <filesystem>
#include <ostream>

#include "common/csv.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/files.h"
#include "linkage/bodies.h"
#include "linkage/layouts.h"
#include "linkage/platform.h"
#include "linkage/queries.h"

namespace jlis::linkage {

struct LinkageCommands::Options {
  CLI::App* add = nullptr;
  CLI::App* list = nullptr;
  CLI::App* remove = nullptr;
  CLI::App* layout = nullptr;
  CLI::App* log_state = nullptr;
  CLI::App* log_stamp = nullptr;
  CLI::App* log_archive = nullptr;
  CLI::App* log_verify = nullptr;
  CLI::App* purge = nullptr;
  CLI::App* cert_add = nullptr;
  CLI::App* cert_list = nullptr;
  CLI::App* cert_remove = nullptr;
  CLI::App* endpoint = nullptr;
  CLI::App* key = nullptr;
  std::string kind, name, code, body, on, before, archive, trust, certificate, fingerprint, url;
};

LinkageCommands::LinkageCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data,
                                 const std::function<void(CLI::App*)>& add_grant,
                                 const std::function<void(CLI::App*)>& add_by)
    : o_(std::make_unique<Options>()) {
  auto* linkage = cli.add_subcommand("linkage", "The information-linkage platform (中間サーバー)")->require_subcommand(1);
  auto* body = linkage->add_subcommand("body", "Bodies that ask and provide (情報照会者・情報提供者)")->require_subcommand(1);
  o_->add = body->add_subcommand("add", "Register a body; prints its token on the last line");
  add_data(o_->add);
  o_->add->add_option("--kind", o_->kind, "municipality, prefecture, pension-service, health-insurer or ministry")
      ->required();
  o_->add->add_option("--name", o_->name, "The body's name")->required();
  o_->add->add_option("--code", o_->code,
                      "Local-government code (municipality, prefecture), insurer number (health-insurer) or "
                      "corporate number (pension-service, ministry)")
      ->required();
  add_grant(o_->add);
  o_->list = body->add_subcommand("list", "List the bodies as CSV");
  add_data(o_->list);
  o_->remove = body->add_subcommand("remove", "Deactivate a body and revoke its tokens");
  add_data(o_->remove);
  o_->remove->add_option("--body", o_->body, "Body id (jlis linkage body list)")->required();
  add_by(o_->remove);
  o_->endpoint = body->add_subcommand("endpoint", "Set (or with --url \"\" clear) the URL of a body's own system, "
                                                 "to which the platform forwards the queries it answers live");
  add_data(o_->endpoint);
  o_->endpoint->add_option("--body", o_->body, "Body id (jlis linkage body list)")->required();
  o_->endpoint->add_option("--url", o_->url, "http://HOST[:PORT]/PATH (TLS ends at the proxy)")->required();
  auto* cert = body->add_subcommand("certificate", "The certificates a body signs its messages with")->require_subcommand(1);
  o_->cert_add = cert->add_subcommand("add", "Register a signing certificate (PEM) of a body; prints its fingerprint");
  o_->cert_list = cert->add_subcommand("list", "List a body's certificates as CSV");
  for (CLI::App* c : {o_->cert_add, o_->cert_list}) {
    add_data(c);
    c->add_option("--body", o_->body, "Body id (jlis linkage body list)")->required();
  }
  o_->cert_add->add_option("--certificate", o_->certificate, "PEM file of the certificate")->required();
  o_->cert_remove = cert->add_subcommand("remove", "Stop a certificate from signing for its body");
  add_data(o_->cert_remove);
  o_->cert_remove->add_option("--fingerprint", o_->fingerprint, "SHA-256 of the certificate (certificate list)")
      ->required();
  o_->key = linkage->add_subcommand("key", "Make the platform's code key (the key ceremony) when it has none; "
                                           "prints the SHA-256 of its public key");
  add_data(o_->key);
  auto* log = linkage->add_subcommand("log", "The message log: evidence of every message")->require_subcommand(1);
  o_->log_state = log->add_subcommand("state", "Entries, bytes, the last stamp and since when the head is unstamped");
  add_data(o_->log_state);
  o_->log_stamp = log->add_subcommand("stamp", "Time-stamp the head with J-LIS's time-stamp authority");
  add_data(o_->log_stamp);
  o_->log_archive = log->add_subcommand("archive", "Move the stamped entries logged before a day to archive files");
  add_data(o_->log_archive);
  o_->log_archive->add_option("--before", o_->before, "The day, YYYY-MM-DD (UTC)")->required();
  o_->log_verify = log->add_subcommand("verify", "Check the chain and every time-stamp");
  add_data(o_->log_verify);
  o_->log_verify->add_option("--trust", o_->trust, "PEM file of the time-stamp authority's roots")->required();
  for (CLI::App* c : {o_->log_archive, o_->log_verify})
    c->add_option("--archive", o_->archive, "The archive folder (default: DIR/linkage-log)");
  auto* records = linkage->add_subcommand("records", "The provision records (情報提供等記録)")->require_subcommand(1);
  o_->purge = records->add_subcommand("purge", "Delete the records requested before a day, past their seven years");
  add_data(o_->purge);
  o_->purge->add_option("--before", o_->before, "The day, YYYY-MM-DD (UTC); seven years ago or earlier")->required();
  o_->layout = linkage->add_subcommand("layout", "The data standard layout version in force on a day");
  o_->layout->add_option("--on", o_->on, "The day, YYYY-MM-DD (default: today in Japan)");
}

LinkageCommands::~LinkageCommands() = default;

bool LinkageCommands::chosen() const {
  return *o_->add || *o_->list || *o_->remove || *o_->layout || *o_->log_state || *o_->log_stamp ||
         *o_->log_archive || *o_->log_verify || *o_->purge || *o_->cert_add || *o_->cert_list || *o_->cert_remove ||
         *o_->endpoint || *o_->key;
}
bool LinkageCommands::standalone() const { return o_->layout->parsed(); }

Status LinkageCommands::check_arguments() const {
  if (*o_->add) {
    JLIS_ASSIGN_OR_RETURN(BodyKind kind, parse_body_kind(o_->kind));
    if (o_->name.empty() || o_->name.size() > 200) return invalid_argument("--name: a body's name is 1 to 200 bytes");
    JLIS_RETURN_IF_ERROR(check_body_code(kind, o_->code));
  }
  if (*o_->layout && !o_->on.empty() && !Date::parse_iso(o_->on).ok())
    return invalid_argument("--on must be a date YYYY-MM-DD");
  if ((*o_->log_archive || *o_->purge) && !Date::parse_iso(o_->before).ok())
    return invalid_argument("--before must be a date YYYY-MM-DD");
  return Status::ok();
}

Status LinkageCommands::run_standalone(std::ostream& out) {
  JLIS_RETURN_IF_ERROR(check_arguments());
  JLIS_ASSIGN_OR_RETURN(const DataLayouts* layouts, DataLayouts::shipped());
  JLIS_ASSIGN_OR_RETURN(Date day, o_->on.empty() ? Result<Date>(Date::today()) : Date::parse_iso(o_->on));
  JLIS_ASSIGN_OR_RETURN(const LayoutVersion* v, layouts->version_in_force(day));
  out << "version " << v->version << " (" << v->revision << ") in force on " << day.to_iso() << ": from "
      << v->effective_from.to_iso() << " until "
      << (v->effective_until ? v->effective_until->to_iso() : std::string("a later version")) << "\n";
  return Status::ok();
}

Status LinkageCommands::run(const LinkageContext& c, std::ostream& out) {
  JLIS_RETURN_IF_ERROR(check_arguments());
  if (*o_->log_state || *o_->log_stamp || *o_->log_archive || *o_->log_verify) return run_log(c, out);
  if (*o_->key) {
    JLIS_ASSIGN_OR_RETURN(Platform * platform, c.platform());
    JLIS_ASSIGN_OR_RETURN(std::string fingerprint, platform->code_key_fingerprint());
    out << "linkage code key " << kCodeKeyLabel << ", SHA-256 of its public key:\n" << fingerprint << "\n";
    return Status::ok();
  }
  const ReferenceData& reference = *c.reference;
  const auth::TokenGrant& grant = c.grant;
  Bodies bodies(*c.pool, *c.writer, *c.directory);
  if (*o_->cert_add) {
    JLIS_ASSIGN_OR_RETURN(std::string pem, read_file(o_->certificate));
    auto cert = pki::x509_from_pem(pem);
    if (!cert.ok()) return invalid_argument("--certificate " + o_->certificate + " holds no PEM certificate");
    JLIS_ASSIGN_OR_RETURN(MessageVerifier verifier, c.verifier());
    JLIS_RETURN_IF_ERROR(verifier.check_certificate(cert->get()));
    JLIS_ASSIGN_OR_RETURN(BodyCertificate added, bodies.add_certificate(o_->body, pem));
    out << "certificate " << added.serial << " (" << added.subject << ") registered to " << added.body_id << "\n"
        << added.fingerprint << "\n";
    return Status::ok();
  }
  if (*o_->cert_list) {
    JLIS_RETURN_IF_ERROR(bodies.get(o_->body).status());
    JLIS_ASSIGN_OR_RETURN(auto all, bodies.certificates(o_->body));
    out << "fingerprint,serial,subject,not_after,registered_at,removed_at\n";
    for (const auto& b : all)
      out << b.fingerprint << "," << b.serial << "," << csv_field(b.subject) << "," << b.not_after << ","
          << b.registered_at << "," << b.removed_at << "\n";
    return Status::ok();
  }
  if (*o_->endpoint) {
    JLIS_RETURN_IF_ERROR(bodies.set_endpoint(o_->body, o_->url));
    out << "body " << o_->body << (o_->url.empty() ? ": no endpoint\n" : ": endpoint " + o_->url + "\n");
    return Status::ok();
  }
  if (*o_->cert_remove) {
    JLIS_RETURN_IF_ERROR(bodies.remove_certificate(o_->fingerprint));
    out << "certificate " << o_->fingerprint << " removed\n";
    return Status::ok();
  }
  if (*o_->add) {
    JLIS_ASSIGN_OR_RETURN(BodyKind kind, parse_body_kind(o_->kind));
    if (kind == BodyKind::municipality || kind == BodyKind::prefecture) {
      const Municipality* m = reference.find(LocalGovernmentCode::parse(o_->code).value());  // checked above
      const bool fits = m && (kind == BodyKind::prefecture ? m->type == "都道府県"
                                                            : m->type != "都道府県" && m->type != "行政区");
      if (!fits)
        return invalid_argument("--code " + o_->code + " is not a " + std::string(body_kind_name(kind)) +
                                " in the reference data");
    }
    JLIS_ASSIGN_OR_RETURN(auto added, bodies.add(kind, o_->name, o_->code, grant));
    out << "body " << added.first.body_id << " (" << added.first.name << ") registered\n" << added.second << "\n";
    return Status::ok();
  }
  if (*o_->list) {
    JLIS_ASSIGN_OR_RETURN(auto all, bodies.list());
    out << "body_id,kind,name,code,registered_at,active,endpoint\n";
    for (const auto& b : all)
      out << b.body_id << "," << body_kind_name(b.kind) << "," << csv_field(b.name) << "," << b.code << ","
          << b.registered_at << "," << (b.active ? "yes" : "no") << "," << csv_field(b.endpoint) << "\n";
    return Status::ok();
  }
  if (*o_->purge) {
    JLIS_ASSIGN_OR_RETURN(const LegalTable* table, LegalTable::shipped());
    JLIS_ASSIGN_OR_RETURN(const DataLayouts* layouts, DataLayouts::shipped());
    Queries queries(*c.pool, *c.writer, *table, *layouts);
    JLIS_ASSIGN_OR_RETURN(int64_t purged, queries.purge_records(Date::parse_iso(o_->before).value(), Date::today()));
    out << "purged " << purged << " provision records requested before " << o_->before << "\n";
    return Status::ok();
  }
  if (*o_->remove) {
    JLIS_RETURN_IF_ERROR(bodies.remove(o_->body, grant.by));
    out << "body " << o_->body << " removed; its tokens are revoked\n";
    return Status::ok();
  }
  return invalid_argument("no linkage subcommand chosen");
}

Status LinkageCommands::run_log(const LinkageContext& c, std::ostream& out) {
  const std::filesystem::path archive = o_->archive.empty() ? std::filesystem::path(c.data_dir) / "linkage-log"
                                                            : std::filesystem::path(o_->archive);
  const std::string now = iso8601_seconds(static_cast<int64_t>(std::time(nullptr)));
  if (*o_->log_state) {
    JLIS_ASSIGN_OR_RETURN(auto conn, c.pool->acquire());
    JLIS_ASSIGN_OR_RETURN(LogState s, log_state(*conn));
    out << "entries " << s.entries << " (" << s.bytes << " bytes), archived " << s.archived_entries << "\n"
        << "last entry " << s.last_seq << ", last stamped " << s.last_stamped_seq << "\n"
        << "unstamped since " << s.oldest_unstamped_at.value_or("-") << "\n";
    return Status::ok();
  }
  if (*o_->log_stamp) {
    JLIS_ASSIGN_OR_RETURN(TimeStampService tsa, c.time_stamps());
    JLIS_ASSIGN_OR_RETURN(auto stamp, stamp_log(*c.pool, *c.writer, tsa, now));
    if (stamp) out << "entry " << stamp->seq << " stamped\n";
    else out << "nothing to stamp: the head is stamped already\n";
    return Status::ok();
  }
  if (*o_->log_archive) {
    JLIS_ASSIGN_OR_RETURN(auto file, archive_log(*c.pool, *c.writer, o_->before + "T00:00:00Z", archive));
    if (file) out << "archived to " << file->string() << "\n";
    else out << "nothing to archive: no stamped entry was logged before " << o_->before << "\n";
    return Status::ok();
  }
  JLIS_ASSIGN_OR_RETURN(std::string pem, read_file(o_->trust));
  std::vector<pki::X509Ptr> roots;
  for (size_t at = pem.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
       at = pem.find("-----BEGIN CERTIFICATE-----", at + 1)) {
    JLIS_ASSIGN_OR_RETURN(auto cert, pki::x509_from_pem(pem.substr(at)));
    roots.push_back(std::move(cert));
  }
  if (roots.empty()) return invalid_argument("--trust " + o_->trust + " holds no PEM certificate");
  std::vector<X509*> trusted;
  for (const auto& r : roots) trusted.push_back(r.get());
  JLIS_ASSIGN_OR_RETURN(auto conn, c.pool->acquire());
  JLIS_ASSIGN_OR_RETURN(LogVerification v, verify_log(*conn, archive, trusted));
  if (!v.broken.empty()) return conflict("the message log is broken: " + v.broken);
  out << "intact: " << v.entries << " entries, " << v.stamps << " time-stamps verified, " << v.unstamped
      << " entries after the last stamp\n";
  return Status::ok();
}

}  // namespace jlis::linkage
