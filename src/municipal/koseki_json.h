// The family-register notices and registers in JSON, as POST and GET
// /v1/municipalities/{code}/family-registers/... carry them (docs/openapi.yaml KosekiNotice,
// KosekiRegister).
//
// A notice is an object {event_id, type, ...} whose other fields are those of the notice's struct
// in koseki.h (or of KosekiLinkRequest), in snake_case: a member as {"register_id": N, "member": M},
// dates as YYYY-MM-DD, sex as "male" or "female", municipality codes as 6-digit strings, resident
// codes as 11-digit strings. The parser checks shape only (types, formats, unknown fields, lengths
// and array sizes); what the register must say for the notice to apply is Koseki's to check.
#pragma once

#include <variant>

#include <nlohmann/json_fwd.hpp>

#include "municipal/koseki.h"

namespace jlis::municipal {

// Linking a member to the resident register (Fuhyo::link) as a caller names it: by resident code;
// the route reads the resident record in the transaction that links.
struct KosekiLinkRequest {
  std::string event_id;
  MemberRef member;
  ResidentCode resident_code;
  Date since;  // 住所を定めた年月日
};

// One notice, by its "type": open_register, birth, marriage, divorce, adoption, death, transfer,
// branch, old_surname, link (in this order).
using KosekiNotice = std::variant<OpenRegister, BirthNotice, MarriageNotice, DivorceNotice, AdoptionNotice,
                                  DeathNotice, TransferNotice, BranchNotice, OldSurnameNotice, KosekiLinkRequest>;

// The notice in `json`; invalid_argument naming the field for any other shape (an unknown type or
// field, a wrong type, a malformed date or code, a string or array over its limit).
Result<KosekiNotice> koseki_notice_from_json(const nlohmann::json& json);

// The register as GET /v1/municipalities/{code}/family-registers/{register_id} answers it:
// register_id, municipality_code, honseki, head_name, closed, successor (null when none), entries
// (the register's own) and members (each with its fields, came_from and entries). Entry kinds are
// written in English (birth, marriage, ..., made, transfer, closed).
nlohmann::json to_json(const KosekiRegister& reg);

}  // namespace jlis::municipal
