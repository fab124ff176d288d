// The JSON bodies the routes accept, parsed the way the routes parse them: nlohmann::json::parse
// without exceptions, then the route's own parse function. The first byte picks the parser:
//   0 POST /v1/municipalities/{code}/events       registry::event_from_json
//   1 a resident as events and history carry it    registry::resident_from_json
//   2 POST /v1/residents/search                     registry::search_query_from_json
//   3 POST /v1/cards/applications                   card::application_request_from_json
//   4 handover / PKI renew and smartphone bodies    card::card_keys_from_json of "public_keys"
//   5 report-lost reason, PKI revoke reason         card::parse_loss_reason, pki::parse_reason
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "card/card.h"
#include "pki/crl.h"
#include "registry/resident.h"
#include "registry/registry.h"

using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) return 0;
  switch (data[0] % 6) {
    case 0: (void)jlis::registry::event_from_json(body); break;
    case 1: (void)jlis::registry::resident_from_json(body); break;
    case 2: (void)jlis::registry::search_query_from_json(body); break;
    case 3: (void)jlis::card::application_request_from_json(body); break;
    case 4:
      if (body.is_object() && body.contains("public_keys")) (void)jlis::card::card_keys_from_json(body["public_keys"]);
      break;
    case 5:
      if (body.is_object() && body.contains("reason") && body["reason"].is_string()) {
        (void)jlis::card::parse_loss_reason(body["reason"].get<std::string>());
        (void)jlis::pki::parse_reason(body["reason"].get<std::string>());
      }
      break;
  }
  // What every answer does with a body it echoes.
  (void)body.dump();
  return 0;
}
