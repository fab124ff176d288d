// The `jlis linkage` subcommands, for operators on the data directory:
//   jlis linkage body add --data DIR --kind KIND --name NAME --code CODE [--by WHO] [--expires WHEN]
//     registers a body (bodies.h; KIND: municipality, prefecture, pension-service, health-insurer,
//     ministry) and makes its linkage-body token; a municipality's or prefecture's code must be one of
//     the reference data's (a city, ward of Tokyo, town, village or designated city — not one of a
//     designated city's wards — or a prefecture): prints "body <id> (<name>) registered" and the
//     token on the last line (the only time it is shown). The body and its token are written in one
//     transaction: a refusal writes neither.
//   jlis linkage body list --data DIR
//     CSV: body_id,kind,name,code,registered_at,active
//   jlis linkage body remove --data DIR --body ID [--by WHO]
//     deactivates the body and revokes its tokens, in one transaction
//   jlis linkage layout [--on YYYY-MM-DD]
//     the data standard layout version in force on the day (default: today in Japan) and its
//     effective dates (layouts.h); no data directory
// A bad argument (kind, code, name, date) is refused before the data directory is opened.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>

#include <CLI/CLI.hpp>

#include "auth/directory.h"
#include "common/reference_data.h"
#include "common/status.h"
#include "store/database.h"

namespace jlis::linkage {

class LinkageCommands {
 public:
  // Adds `jlis linkage` to `cli`; `add_data` adds the data-directory options, `add_grant` the --by
  // and --expires options, `add_by` --by alone.
  LinkageCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data,
                  const std::function<void(CLI::App*)>& add_grant, const std::function<void(CLI::App*)>& add_by);
  LinkageCommands(const LinkageCommands&) = delete;
  LinkageCommands& operator=(const LinkageCommands&) = delete;
  ~LinkageCommands();

  bool chosen() const;
  // True for `jlis linkage layout`, which needs no data directory: run it with run_standalone().
  bool standalone() const;
  Status run_standalone(std::ostream& out);
  // Checks what needs no data directory: invalid_argument, saying what is wrong.
  Status check_arguments() const;
  // Runs the chosen subcommand on the data directory's store; `grant` makes a new token and says who
  // acts; `reference` knows the local governments. A refusal is the Status.
  Status run(store::Pool& pool, auth::Directory& directory, const auth::TokenGrant& grant,
             const ReferenceData& reference, std::ostream& out);

 private:
  struct Options;
  std::unique_ptr<Options> o_;
};

}  // namespace jlis::linkage
