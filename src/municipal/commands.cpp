#include "municipal/commands.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>

namespace jlis::municipal {

struct DocumentCommands::Options {
  CLI::App* render = nullptr;
  CLI::App* offer = nullptr;
  CLI::App* support = nullptr;
  CLI::App* log = nullptr;
  std::string resident, type, municipality, members = "self", output, documents, mayor, since, until;
  std::vector<std::string> with, fees;
  bool individual = false, shared_function = false;
  int fiscal_year = 0;
};

DocumentCommands::DocumentCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data)
    : o_(std::make_unique<Options>()) {
  Options& o = *o_;
  auto* documents = cli.add_subcommand("documents", "Certificate documents (証明書): render, kiosk offer, log")
                        ->require_subcommand(1);
  o.render = documents->add_subcommand("render", "Issue one of the six documents as PDF (the municipal window)");
  add_data(o.render);
  o.render->add_option("--resident", o.resident, "The applicant's resident code")->required();
  o.render->add_option("--type", o.type, "juminhyo, kisai-jiko, inkan, koseki, koseki-fuhyo or kazei")
      ->required()
      ->check(CLI::IsMember({"juminhyo", "kisai-jiko", "inkan", "koseki", "koseki-fuhyo", "kazei"}));
  o.render->add_option("--municipality", o.municipality,
                       "The issuing municipality (default: where the resident lives; 本籍 for koseki)");
  o.render->add_option("--members", o.members, "juminhyo, kisai-jiko: all (the household) or self")
      ->check(CLI::IsMember({"all", "self"}));
  o.render->add_option("--with", o.with, "Optional items: household (世帯主・続柄), honseki, my-number")
      ->delimiter(',')
      ->check(CLI::IsMember({"household", "honseki", "my-number"}));
  o.render->add_flag("--individual", o.individual, "koseki, koseki-fuhyo: the applicant only (個人事項)");
  o.render->add_option("--fiscal-year", o.fiscal_year, "kazei: the fiscal year (default: the latest on record)");
  o.render->add_option("--output", o.output, "The PDF file to write")->required();

  o.offer = documents->add_subcommand("offer", "Show or set what a municipality offers at kiosks");
  add_data(o.offer);
  o.offer->add_option("--municipality", o.municipality, "Municipality code")->required();
  o.offer->add_option("--documents", o.documents, "The documents offered, comma-separated (e.g. juminhyo,inkan)");
  o.offer->add_option("--fee", o.fees, "TYPE=YEN, repeatable");
  o.offer->add_flag("--shared-function", o.shared_function, "Served by the shared issuance function (BCL)");
  o.offer->add_option("--mayor", o.mayor, "The mayor's name printed on documents");

  o.support = documents->add_subcommand("support-measure", "Place a 支援措置 (DV protection) on a resident");
  add_data(o.support);
  o.support->add_option("--resident", o.resident, "Resident code")->required();
  o.support->add_option("--municipality", o.municipality, "The resident's municipality")->required();
  o.support->add_option("--since", o.since, "YYYY-MM-DD")->required();
  o.support->add_option("--until", o.until, "YYYY-MM-DD (default: until lifted)");

  o.log = documents->add_subcommand("log", "A resident's issuance log (issued and refused), as CSV");
  add_data(o.log);
  o.log->add_option("--resident", o.resident, "Resident code")->required();
}

DocumentCommands::~DocumentCommands() = default;

bool DocumentCommands::issues_documents() const { return o_->render->parsed(); }
bool DocumentCommands::chosen() const { return *o_->render || *o_->offer || *o_->support || *o_->log; }

namespace {

Result<ResidentCode> resident_code(const std::string& text) {
  auto code = ResidentCode::parse(text);
  if (!code.ok()) return invalid_argument("--resident is not a valid 11-digit resident code");
  return *code;
}

Result<LocalGovernmentCode> municipality_code(const std::string& text) {
  auto code = LocalGovernmentCode::parse(text);
  if (!code.ok()) return invalid_argument("--municipality is not a valid 6-digit municipality code");
  return *code;
}

// Writes `bytes` to `path` whole or not at all (a temporary file renamed into place).
Status write_whole(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      std::filesystem::remove(tmp);
      return invalid_argument("cannot write " + path);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    return invalid_argument("cannot write " + path + ": " + ec.message());
  }
  return Status::ok();
}

}  // namespace

Status DocumentCommands::run(IssuanceServer& server, std::ostream& out) {
  const Options& o = *o_;
  if (*o.render) {
    IssuanceRequest req;
    JLIS_ASSIGN_OR_RETURN(req.type, parse_document_type(o.type));
    JLIS_ASSIGN_OR_RETURN(req.applicant, resident_code(o.resident));
    req.whole_household = o.members == "all";
    for (const auto& w : o.with) {
      if (w == "household") req.items.head_and_relationship = true;
      if (w == "honseki") req.items.honseki = true;
      if (w == "my-number") req.items.my_number = true;
    }
    req.individual = o.individual;
    if (o.fiscal_year != 0) req.fiscal_year = o.fiscal_year;
    req.channel = "window";
    LocalGovernmentCode issuer;
    if (!o.municipality.empty()) {
      JLIS_ASSIGN_OR_RETURN(issuer, municipality_code(o.municipality));
    } else {
      auto found = server.default_issuer(req.applicant, req.type);
      if (!found.ok()) return invalid_argument("no resident has the resident code " + o.resident);
      issuer = *found;
    }
    JLIS_ASSIGN_OR_RETURN(IssuanceOutcome outcome, server.issue(issuer, req));
    if (outcome.refusal)
      return conflict("refused (" + outcome.refusal->reason + "): " + outcome.refusal->message);
    JLIS_RETURN_IF_ERROR(write_whole(o.output, outcome.document->pdf));
    out << "issued " << outcome.document->issuance_number << " (" << document_title(req.type) << ") to "
        << o.output << "\n";
    return Status::ok();
  }
  if (*o.offer) {
    JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, municipality_code(o.municipality));
    JLIS_ASSIGN_OR_RETURN(KioskOffer offer, server.offer(code));
    const bool change = !o.documents.empty() || !o.fees.empty() || o.shared_function || !o.mayor.empty();
    if (change) {
      if (!o.documents.empty()) {
        offer.documents.clear();
        for (size_t start = 0; start <= o.documents.size();) {
          size_t end = std::min(o.documents.find(',', start), o.documents.size());
          JLIS_ASSIGN_OR_RETURN(DocumentType t, parse_document_type(o.documents.substr(start, end - start)));
          offer.documents.insert(t);
          start = end + 1;
        }
      }
      for (const auto& fee : o.fees) {
        const size_t eq = fee.find('=');
        if (eq == std::string::npos) return invalid_argument("--fee is TYPE=YEN");
        JLIS_ASSIGN_OR_RETURN(DocumentType t, parse_document_type(fee.substr(0, eq)));
        try {
          offer.fees[t] = std::stoll(fee.substr(eq + 1));
        } catch (...) {
          return invalid_argument("--fee is TYPE=YEN");
        }
      }
      if (o.shared_function) offer.shared_function = true;
      if (!o.mayor.empty()) offer.mayor_name = o.mayor;
      JLIS_RETURN_IF_ERROR(server.configure(code, offer));
    }
    out << "type,offered,fee\n";
    for (DocumentType t : {DocumentType::juminhyo, DocumentType::kisai_jiko, DocumentType::inkan, DocumentType::koseki,
                           DocumentType::koseki_fuhyo, DocumentType::kazei})
      out << document_type_name(t) << "," << (offer.documents.count(t) ? "yes" : "no") << ","
          << (offer.fees.count(t) ? offer.fees.at(t) : 0) << "\n";
    out << "# mayor " << offer.mayor_name << (offer.shared_function ? "; shared issuance function (BCL)" : "") << "\n";
    return Status::ok();
  }
  if (*o.support) {
    JLIS_ASSIGN_OR_RETURN(ResidentCode code, resident_code(o.resident));
    JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode municipality, municipality_code(o.municipality));
    auto since = Date::parse_iso(o.since);
    if (!since.ok()) return invalid_argument("--since must be YYYY-MM-DD");
    std::optional<Date> until;
    if (!o.until.empty()) {
      auto u = Date::parse_iso(o.until);
      if (!u.ok()) return invalid_argument("--until must be YYYY-MM-DD");
      until = *u;
    }
    JLIS_RETURN_IF_ERROR(server.place_support_measure(municipality, code, *since, until));
    out << "support measure placed\n";
    return Status::ok();
  }
  JLIS_ASSIGN_OR_RETURN(ResidentCode code, resident_code(o.resident));
  JLIS_ASSIGN_OR_RETURN(auto records, server.records_of(code));
  out << "recorded_at,municipality,type,channel,session,outcome,issuance_number\n";
  for (const auto& r : records)
    out << r.recorded_at << "," << r.municipality.str() << "," << document_type_name(r.type) << "," << r.channel << ","
        << r.session << "," << r.outcome << "," << r.issuance_number << "\n";
  return Status::ok();
}

}  // namespace jlis::municipal
