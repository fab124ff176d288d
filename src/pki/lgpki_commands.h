// The `jlis lgpki` subcommands: LGPKI (lgpki.h) and its application workflow (lgpki_workflow.h)
// for operators, on the data directory. Who acts: the steps of a local government (apply; review
// and `revoke --request` by its registration sub-authority) need that caller's token in the
// environment variable JLIS_TOKEN (a municipality token, an lgpki-registration token; never on the
// command line, where `ps` shows it); J-LIS's steps (approve, issue, revoke) are the operator's:
// JLIS_TOKEN when it is an operator token, else the operator on the data directory, recorded as
// "operator:<--by or the Unix user>".
//   jlis lgpki init [--public-url URL]   the first generation (root and three issuing CAs); the
//                                        URL base of CRL DP, AIA and OCSP in every certificate,
//                                        recorded in DIR/pki/lgpki.json
//   jlis lgpki apply --municipality CODE --profile P --organisation O [--unit U] [--position P]
//                    [--common-name CN] [--dns a,b] [--csr FILE]
//                                        files an application; without --csr the key pair is
//                                        generated in the key store (label in `show`) and the
//                                        request made from it. Prints the id on the last line.
//   jlis lgpki review --application ID [--refuse REASON]    the sub-authority's decision
//   jlis lgpki approve --application ID [--refuse REASON]   J-LIS's decision
//   jlis lgpki issue --application ID    issues an approved application; prints the certificate (PEM)
//   jlis lgpki show --application ID [--pem]   the application and its steps; --pem: the
//                                        delivered certificate only
//   jlis lgpki list [--municipality CODE]   CSV: id,municipality,profile,state,serial,filed_at
//   jlis lgpki revoke --application ID --request --reason R [--note T]   the sub-authority asks
//   jlis lgpki revoke --application ID   J-LIS carries a requested revocation out
//   jlis lgpki revoke-ca --ca CA [--generation N] [--reason R]   J-LIS revokes an issuing CA (ARL)
//   jlis lgpki crl [--out DIR2]          every generation's CRLs and ARL, made now, written to
//                                        DIR/lgpki/crl/<name>.crl (or DIR2), each file whole
//   jlis lgpki rollover                  a new generation (lgpki.h new_generation)
// The keys are where JPKI's are (the JPKI CA's KeyStore when DIR has a CA, so a PKCS#11 token is
// shared; else encrypted files in DIR/pki/keys under JLIS_CA_PASSPHRASE).
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "auth/directory.h"
#include "pki/keys.h"
#include "pki/lgpki.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::pki {

// True when DIR has an LGPKI (`jlis lgpki init` recorded DIR/pki/lgpki.json).
bool lgpki_configured(const std::string& data_dir);
// Opens the LGPKI of DIR with `options` and its recorded public URL. invalid_argument when DIR has none.
Result<std::unique_ptr<LgpkiAuthority>> open_lgpki(const std::string& data_dir, store::Pool& pool,
                                                   store::Writer& writer, KeyStore& keys, LgpkiOptions options = {});

// What the commands are run with, from the data directory the CLI opened.
struct LgpkiCommandContext {
  std::string data_dir;
  store::Pool* pool = nullptr;
  store::Writer* writer = nullptr;
  auth::Directory* directory = nullptr;
  std::function<Result<KeyStore*>()> keys;  // the key store (opened on first use)
  std::string operator_identity;            // "operator:<name>"
  std::string token;                        // JLIS_TOKEN; may be empty
};

class LgpkiCommands {
 public:
  // Adds `jlis lgpki` and its subcommands to `cli`; `add_data` adds the data-directory options,
  // `add_by` the --by option.
  LgpkiCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data,
                const std::function<void(CLI::App*)>& add_by);
  LgpkiCommands(const LgpkiCommands&) = delete;
  LgpkiCommands& operator=(const LgpkiCommands&) = delete;
  ~LgpkiCommands();

  bool chosen() const;
  // Checks what needs no data directory (profile, reason, ids, files): invalid_argument. Run
  // before the directory is opened, so a bad command touches nothing.
  Status check_arguments() const;
  // Runs the chosen subcommand; what it answers goes to `out`. A refusal is the Status.
  Status run(const LgpkiCommandContext& context, std::ostream& out);

 private:
  struct Options;
  std::unique_ptr<Options> o_;
};

}  // namespace jlis::pki
