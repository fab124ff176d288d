// The `jlis documents` subcommands, for the municipal window and operators:
//   jlis documents render --data DIR --resident CODE --type TYPE [--municipality CODE]
//        [--members all|self] [--with household,honseki,my-number] [--individual]
//        [--fiscal-year N] --output FILE.pdf
//     TYPE one of juminhyo, kisai-jiko, inkan, koseki, koseki-fuhyo, kazei. The same eligibility
//     rules as the kiosk path (IssuanceServer::issue, channel "window"); a refusal is a message and
//     exit status 1, and no file is written.
//   jlis documents offer --data DIR --municipality CODE [--documents a,b] [--fee TYPE=YEN ...]
//        [--shared-function] [--mayor NAME]      what the municipality offers at kiosks
//   jlis documents support-measure --data DIR --resident CODE --municipality CODE --since DATE [--until DATE]
//   jlis documents log --data DIR --resident CODE   the resident's issuance log, CSV
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>

#include <CLI/CLI.hpp>

#include "municipal/issuance.h"

namespace jlis::municipal {

class DocumentCommands {
 public:
  // Adds the subcommands to `cli`; `add_data` adds the data-directory options to each.
  DocumentCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data);
  DocumentCommands(const DocumentCommands&) = delete;
  DocumentCommands& operator=(const DocumentCommands&) = delete;
  ~DocumentCommands();

  // True when the command line chose one of them (after parsing).
  bool chosen() const;
  // True when the chosen subcommand issues a document (render): the caller seals them first.
  bool issues_documents() const;
  // Runs the chosen one on `server`; what it answers goes to `out`. A refusal or a failure is the
  // Status (the caller prints its message and exits 1).
  Status run(IssuanceServer& server, std::ostream& out);

 private:
  struct Options;
  std::unique_ptr<Options> o_;
};

}  // namespace jlis::municipal
