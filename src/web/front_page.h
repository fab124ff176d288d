// The front page, `GET /`: what a newcomer sees at the server's address after `make run`. It says,
// in Japanese and English, what this server runs (its components, each with what it is and where
// its API begins), whose data it holds (a simulation or not, the population, the centre and its
// store's role), and links what there is to open: the API description, the verification page, the
// kiosk screen (when the server was told where it is), health and metrics. Public and anonymous:
// nothing on it is personal; the population is a count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "http/server.h"

namespace jlis::web {

struct FrontPageFacts {
  std::vector<std::string> components;  // as served: registry, card, pki, municipal, kiosk
  bool simulation = false;
  std::string centre;                                    // "" for a single centre
  std::function<Result<std::string>()> store_role;       // primary or standby; unset for a single centre
  std::function<Result<int64_t>()> population;           // residents living in Japan (status resident)
  std::string kiosk_screen_url;                          // where `jlis kiosk screen` answers, or ""
};

// Adds GET / to `server`. The population is counted at most once a minute (a count of the whole
// register is not free at national size).
void add_front_page(http::Server& server, FrontPageFacts facts);

}  // namespace jlis::web
