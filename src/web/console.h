// The operator console, `/console`: what an operator watches and the few actions that are safe
// from a browser, behind a log-in with an operator token.
//
//   GET  /console/login, POST /console/login   the form; the token (operator role only) is checked
//        and a console session begins: a random id in an HttpOnly, SameSite=Strict cookie scoped to
//        /console; the token stays on the server (each request authenticates it again, so a revoked
//        operator token ends its sessions at once). Sessions end after 8 hours, or 30 minutes idle.
//   GET  /console            figures, refreshed every few seconds: change events per minute by type,
//        provisions per minute, OCSP answers per second, writer commits per second and their batch
//        size (all sampled from the server's own /metrics), and the tallies counted in the store
//        (cards by state, certificates by status...; at most once a minute)
//   GET  /console/tokens     the tokens (never a secret) with their revoke buttons, a form for a new
//        token and one for a new agency (the secret shown once, on the answer)
//   POST /console/tokens/revoke, /console/tokens/create, /console/agencies/add
//   GET  /console/audit      the recorded changes to tokens and grants, newest first
//   POST /console/logout
//
// Every POST needs the session, its CSRF token (a hidden field) and no foreign Origin. Every action
// is recorded by the directory with who did it: "console:<the operator token's name> (<its id>)".
// Pages: Japanese with English, no script, the style allowed by hash (http/html.h).
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

namespace jlis::web {

// One bar chart counted in the store.
struct Tally {
  std::string title;
  std::vector<std::pair<std::string, int64_t>> counts;
};

struct ConsoleOptions {
  std::function<std::string()> metrics;              // the server's /metrics text (Server::metrics_text)
  std::vector<std::function<Result<Tally>()>> tallies;  // each component's counts
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
