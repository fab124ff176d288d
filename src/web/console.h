// The operator console, `/console`: what an operator watches and the few actions that are safe
// from a browser, behind a log-in with an operator token.
//
//   GET  /console/login, POST /console/login   the form; the token (operator role only) is checked
//        and a console session begins: a random id in an HttpOnly, SameSite=Strict cookie scoped to
//        /console; the token stays on the server (each request authenticates it again, so a revoked
//        operator token ends its sessions at once). Sessions end after 8 hours, or 30 minutes idle.
//   GET  /console            the figures (below) and the form that generates the CRLs now
//   GET  /console/figures    the figures alone (an HTML fragment): the overview's one script fetches
//        it every few seconds and puts it in place, unless the operator unticks "auto-refresh";
//        without script the page is complete and a link reloads it. The figures: change events per
//        minute by type, provisions per minute by agency and purpose, OCSP answers per second,
//        kiosk documents per minute by type, writer commits per second and their batch size (all
//        sampled from the server's own /metrics), the tallies counted in the store (cards by state,
//        certificates by status; at most once a minute) and the tables (the card production
//        queue with late express applications marked, the CRLs with their age and size; read at
//        most once per sample)
//   GET  /console/tokens     the tokens (never a secret) with their revoke buttons, forms for a new
//        token, a new agency and a new verifier (the secret shown once, on the answer)
//   POST /console/tokens/revoke, /console/tokens/create, /console/agencies/add,
//        /console/verifiers/add, /console/crl/generate
//   GET  /console/audit      the recorded changes to tokens and grants and the operators' actions,
//        newest first
//   POST /console/logout
//
// Every POST needs the session, its CSRF token (a hidden field) and no foreign Origin. Every action
// is recorded by the directory with who did it: "console:<the operator token's name> (<its id>)",
// and the operator's token is checked again inside the transaction that writes (TokenGrant::
// operator_token): a token revoked an instant before cannot act. Pages: Japanese with English; the
// style and the overview's one script allowed by hash (http/html.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/directory.h"
#include "common/status.h"
#include "http/server.h"
#include "web/charts.h"

namespace jlis::web {

// One bar chart counted in the store.
struct Tally {
  std::string title;
  std::vector<std::pair<std::string, int64_t>> counts;
};

// A new verifier's id and its token.
using VerifierAdder =
    std::function<Result<std::pair<std::string, std::string>>(const std::string& name, bool consent, const auth::TokenGrant&)>;

struct ConsoleOptions {
  std::function<std::string()> metrics;              // the server's /metrics text (Server::metrics_text)
  std::vector<std::function<Result<Tally>()>> tallies;  // each component's counts
  std::vector<std::function<Result<Table>()>> tables;   // each component's tables
  // The actions of components that may be absent (the CA): no form when unset. generate_crls
  // answers what it made, in a sentence.
  std::function<Result<std::string>()> generate_crls;
  VerifierAdder add_verifier;
  std::chrono::milliseconds sample_every{5000};      // how often /metrics is sampled (and the page refreshed)
  size_t samples = 60;                               // how many samples the lines show
};

class Console {
 public:
  // `directory` must outlive the console. Starts sampling.
  Console(auth::Directory& directory, ConsoleOptions options);
  ~Console();  // stops sampling
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  void add_routes(http::Server& server);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jlis::web
