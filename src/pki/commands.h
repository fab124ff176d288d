// The `jlis certificates` subcommands, for the operator on the data directory:
//   jlis certificates notices --data DIR --month YYYY-MM
//     Records the certificate expiry notices of the month (notices.h: the certificates expiring
//     two months later) and prints those recorded by this run as CSV on stdout:
//       card_id,resident_code,municipality_code,expires_on,certificates,kind,name,address,email
//     (certificates: "signature;authentication", or one of them; kind: letter or email; name and
//     address for a letter, email for an e-mail, empty when the holder gave none). A summary goes
//     to stderr; a month run before prints the header only and says that every notice was
//     recorded earlier. A malformed month is refused before anything is read or written.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>

#include <CLI/CLI.hpp>

#include "pki/ca.h"

namespace jlis::pki {

class CertificateCommands {
 public:
  // Adds the subcommands to `cli`; `add_data` adds the data-directory options to each.
  CertificateCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data);
  CertificateCommands(const CertificateCommands&) = delete;
  CertificateCommands& operator=(const CertificateCommands&) = delete;
  ~CertificateCommands();

  // True when the command line chose one of them (after parsing).
  bool chosen() const;
  // Checks the arguments that need no data directory (the month): invalid_argument when wrong.
  // The caller runs it before opening the directory, so a bad command touches nothing.
  Status check_arguments() const;
  // Runs the chosen one with the CA of the data directory (null when it has none: refused with
  // invalid_argument, as every CA command is); the CSV goes to `out`, the summary to `summary`. A refusal or a failure is
  // the Status (the caller prints its message and exits 1).
  Status run(CertificateAuthority* ca, std::ostream& out, std::ostream& summary);

 private:
  struct Options;
  std::unique_ptr<Options> o_;
};

}  // namespace jlis::pki
