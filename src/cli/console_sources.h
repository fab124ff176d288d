// What `jlis serve` shows on the operator console (web/console.h): the server's own counters, each
// served component's tallies and tables, and the actions of the components that are there.
#pragma once

#include <chrono>

#include "cli/app.h"
#include "http/server.h"
#include "web/console.h"

namespace jlis::cli {

// `cards`: the card component is served; `ca`: the CA is (null otherwise). Everything given must
// outlive the console.
web::ConsoleOptions console_sources(App& app, http::Server& server, bool cards, pki::CertificateAuthority* ca,
                                    std::chrono::milliseconds sample_every);

}  // namespace jlis::cli
