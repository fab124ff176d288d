#include "kiosk/simulate.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <ostream>

#include "kiosk/terminal_client.h"

namespace jlis::kiosk {
namespace {

Status write_new_file(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return invalid_argument("cannot create " + path);
  bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok) return internal_error("cannot write " + path);
  return Status::ok();
}

}  // namespace

Status simulate_kiosk(const SimulateOptions& o, std::ostream& out) {
  if (o.copies < 1 || o.copies > 10) return invalid_argument("--copies is 1 to 10");
  JLIS_RETURN_IF_ERROR(check_secret_form(card::CardSecret::authentication_pin, o.pin));
  if (std::filesystem::exists(o.output)) return invalid_argument(o.output + " exists: the PDF is written to a new file only");
  JLIS_ASSIGN_OR_RETURN(TerminalCredential credential, read_credential(o.credential_file));
  JLIS_ASSIGN_OR_RETURN(VirtualCard card, VirtualCard::load(o.card_file));
  TerminalClient terminal(o.centre_url, std::move(credential));

  JLIS_ASSIGN_OR_RETURN(KioskOfferShown offer, terminal.log_in(card, o.card_file, o.pin));
  out << "terminal " << terminal.credential().terminal.terminal_id << ": session " << terminal.session_id()
      << "\nlogged in; " << offer.municipality_code << " offers " << offer.documents.size() << " documents\n";
  // The offer shown is the holder's municipality's; another municipality (the 本籍地) says its own.
  if (!offer.offers(o.document) && o.municipality.empty())
    return permission_denied("the holder's municipality does not offer '" + o.document + "' at kiosks");

  nlohmann::json request = {{"type", o.document}, {"copies", o.copies}};
  if (!o.municipality.empty()) request["municipality"] = o.municipality;
  JLIS_ASSIGN_OR_RETURN(PrintedDocument printed,
                        terminal.print(request, [&](const PrintedDocument& d) { return write_new_file(o.output, d.pdf); }));
  out << "printed " << o.document << " x" << o.copies << ", issuance number " << printed.issuance_number << ", fee "
      << printed.fee << " yen, to " << o.output << "\n";
  return Status::ok();
}

}  // namespace jlis::kiosk
