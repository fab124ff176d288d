// The kinds of body on the information-linkage platform (情報照会者・情報提供者): what the legal
// table (legal_table.h) names as who may ask and who provides, and what a registered body (bodies.h)
// is. Written as their stable lower-case names in JSON, SQL and the CLI.
#pragma once

#include <array>
#include <string_view>

#include "common/status.h"

namespace jlis::linkage {

enum class BodyKind {
  municipality,     // 市区町村: identified by its local-government code
  prefecture,       // 都道府県: by its local-government code (PP000C)
  pension_service,  // 日本年金機構: by its corporate number (法人番号, 13 digits)
  health_insurer,   // 医療保険者 (健康保険組合, 協会けんぽ, 後期高齢者医療広域連合): by its insurer number (8 digits)
  ministry,         // 国の行政機関: by its corporate number
};

inline constexpr std::array<std::string_view, 5> kBodyKindNames = {"municipality", "prefecture", "pension-service",
                                                                   "health-insurer", "ministry"};

inline std::string_view body_kind_name(BodyKind kind) { return kBodyKindNames[static_cast<size_t>(kind)]; }
// invalid_argument "the body kind must be one of …" for anything else.
Result<BodyKind> parse_body_kind(std::string_view name);

}  // namespace jlis::linkage
