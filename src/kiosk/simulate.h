// `jlis kiosk simulate`: a kiosk terminal played from the command line against a running centre,
// over HTTP as a real terminal talks to it (routes.h): open a session, insert the virtual card
// (virtual_card.h), enter the PIN (the card, not the centre, checks it: a wrong PIN costs a try and
// the card file keeps the count), log in, choose the document, fetch the PDF into a file, confirm
// the print. No data directory: only the centre's URL, the terminal's credential and the card.
#pragma once

#include <iosfwd>
#include <string>

#include "common/status.h"

namespace jlis::kiosk {

struct SimulateOptions {
  std::string centre_url;       // http://HOST:PORT of `jlis serve`
  std::string credential_file;  // what `jlis kiosk terminal add --output` wrote
  std::string card_file;        // what `jlis card virtual` wrote; saved after the PIN is tried
  std::string pin;
  std::string document;         // juminhyo, kisai-jiko, inkan, koseki, koseki-fuhyo, kazei
  std::string municipality;     // the municipality to ask when not the holder's (the 本籍地); "" for theirs
  std::string output;           // the PDF to write (a new file)
  int copies = 1;
};

// Plays the terminal; says each step on `out`. A refusal (the centre's or the municipality's, with
// its reason), a wrong or locked PIN, a document not offered: a failed Status whose message says
// so, and no output file.
Status simulate_kiosk(const SimulateOptions& options, std::ostream& out);

}  // namespace jlis::kiosk
