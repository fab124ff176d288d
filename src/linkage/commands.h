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
//   jlis linkage body certificate add --data DIR --body ID --certificate FILE
//     registers the body's signing certificate (PEM; bodies.h, signatures.h) once it chains to
//     LGPKI's roots now and may sign messages; prints its fingerprint on the last line
//   jlis linkage body certificate list --data DIR --body ID
//     CSV: fingerprint,serial,subject,not_after,registered_at,removed_at
//   jlis linkage body certificate remove --data DIR --fingerprint HEX
//     stops the certificate from signing for its body
//   jlis linkage key --data DIR
//     the key ceremony: makes the platform's code key in the key store when it has none (else the
//     first `jlis serve` makes it; JLIS_CA_PASSPHRASE) and prints "linkage code key" and the
//     SHA-256 of its public key; run again, prints the same fingerprint and changes nothing
//   jlis linkage log state --data DIR
//     the message log (message_log.h): entries and bytes in the store, the last entry, the last
//     stamped one and since when the head is unstamped (the time-stamping alarm), archived entries
//   jlis linkage log stamp --data DIR
//     time-stamps the head with J-LIS's time-stamp authority (LGPKI's; JLIS_CA_PASSPHRASE)
//   jlis linkage log archive --data DIR --before YYYY-MM-DD [--archive FOLDER]
//     moves the stamped entries logged before the day (UTC) to FOLDER (default DIR/linkage-log)
//   jlis linkage log verify --data DIR --trust FILE [--archive FOLDER]
//     checks the chain across the archives and the store and every stamp against the roots in FILE
//     (PEM; LGPKI's root: <url>/lgpki/ca/root.cer converted, or its PEM); exit 1 naming the first
//     break
//   jlis linkage records purge --data DIR --before YYYY-MM-DD
//     deletes the provision records requested before the day (queries.h: purge_records); refused
//     for a day within the records' seven years
//   jlis linkage layout [--on YYYY-MM-DD]
//     the data standard layout version in force on the day (default: today in Japan) and its
//     effective dates (layouts.h); no data directory
// A bad argument (kind, code, name, date) is refused before the data directory is opened.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "auth/directory.h"
#include "common/reference_data.h"
#include "common/status.h"
#include "linkage/message_log.h"
#include "linkage/signatures.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::linkage {

class Platform;  // platform.h

// What the commands on a data directory work with (src/cli assembles it).
struct LinkageContext {
  std::string data_dir;
  store::Pool* pool = nullptr;
  store::Writer* writer = nullptr;
  auth::Directory* directory = nullptr;
  auth::TokenGrant grant;  // makes a new token and says who acts
  const ReferenceData* reference = nullptr;  // knows the local governments
  // J-LIS's time-stamp authority, opened when a command needs it (its keys want the passphrase).
  std::function<Result<TimeStampService>()> time_stamps;
  // What checks a body's certificate (LGPKI's roots), opened when a command needs it.
  std::function<Result<MessageVerifier>()> verifier;
  // The platform with its code key (platform.h; the key wants the passphrase), opened when needed.
  std::function<Result<Platform*>()> platform;
};

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
  // Runs the chosen subcommand on the data directory. A refusal (or a broken log) is the Status.
  Status run(const LinkageContext& context, std::ostream& out);

 private:
  Status run_log(const LinkageContext& context, std::ostream& out);
  struct Options;
  std::unique_ptr<Options> o_;
};

}  // namespace jlis::linkage
