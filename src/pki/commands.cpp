#include "pki/commands.h"

#include <ostream>

#include "common/csv.h"

namespace jlis::pki {

struct CertificateCommands::Options {
  CLI::App* notices = nullptr;
  std::string month;
};

CertificateCommands::CertificateCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data)
    : o_(std::make_unique<Options>()) {
  Options& o = *o_;
  auto* certificates = cli.add_subcommand("certificates", "JPKI certificates of residents: expiry notices")
                           ->require_subcommand(1);
  o.notices = certificates->add_subcommand(
      "notices", "Record and print the expiry notices of a month (certificates expiring two months later), as CSV");
  add_data(o.notices);
  o.notices->add_option("--month", o.month, "YYYY-MM")->required();
}

CertificateCommands::~CertificateCommands() = default;

bool CertificateCommands::chosen() const { return static_cast<bool>(*o_->notices); }

Status CertificateCommands::check_arguments() const {
  if (*o_->notices) return Date::parse_month(o_->month).status();
  return Status::ok();
}

Status CertificateCommands::run(CertificateAuthority* ca, std::ostream& out, std::ostream& summary) {
  Options& o = *o_;
  JLIS_RETURN_IF_ERROR(check_arguments());
  if (ca == nullptr) return invalid_argument("the data directory has no CA (jlis ca init)");
  JLIS_ASSIGN_OR_RETURN(CertificateNoticeRun run, ca->expiry_notices(o.month));
  out << "card_id,resident_code,municipality_code,expires_on,certificates,kind,name,address,email\n";
  for (const auto& n : run.notices) {
    std::string kinds;
    for (CertificateKind k : n.kinds) kinds += (kinds.empty() ? "" : ";") + std::string(kind_name(k));
    out << n.card_id << "," << n.resident_code.str() << "," << n.municipality_code.str() << ","
        << n.expires_on.to_iso() << "," << kinds << "," << card::notice_kind_name(n.kind) << "," << csv_field(n.name) << ","
        << csv_field(n.address) << "," << csv_field(n.email.value_or("")) << "\n";
  }
  const std::string range = run.covers_from.to_iso() + " to " + run.covers_until.to_iso();
  size_t missing = 0;
  for (const auto& n : run.notices) missing += n.email_missing;
  if (run.notices.empty() && run.already_recorded > 0) {
    summary << "no new notices for certificates expiring " << range << ": all " << run.already_recorded
            << " were recorded by an earlier run\n";
  } else {
    summary << run.notices.size() << " notices for certificates expiring " << range << " ("
            << run.already_recorded << " recorded earlier)";
    if (missing > 0) summary << "; " << missing << " e-mail notices have no address (none given when applying)";
    summary << "\n";
  }
  return Status::ok();
}

}  // namespace jlis::pki
