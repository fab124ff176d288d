// The legal table (issue 11 §2): 番号法 別表第二 and its ordinances, as data. Each row names the
// 別表 row, the kinds of body that may ask (情報照会者), the procedure (事務) by its code and name,
// the kinds of body that provide (情報提供者) and the information items (data-standard-layout item
// codes, layouts.h) that may be asked for. A procedure provided by two kinds of body has a row per
// provider (生活保護: municipalities for tax, the pension service for pensions).
//
// decide() is the platform's only answer to "may this body ask this for this procedure": a query
// outside the table is refused, naming the first rule that failed. The shipped table is
// src/linkage/data/legal_table.json, embedded at build time (shipped_legal_table()).
// Immutable once loaded; thread-safe.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "linkage/body_kind.h"

namespace jlis::linkage {

// The text of src/linkage/data/legal_table.json as built.
std::string_view shipped_legal_table();

struct LegalRow {
  int row = 0;                   // 別表第二の項
  std::string basis;             // the law of the procedure ("生活保護法")
  std::set<BodyKind> requesters;
  std::string procedure;         // 事務 code ("J026-01")
  std::string procedure_name;    // 事務 name
  std::set<BodyKind> providers;
  std::vector<std::string> items;  // item codes, in the table's order
};

// Why a query is outside the table, checked in this order.
enum class Refusal {
  none,                   // allowed
  unknown_procedure,      // no row has the procedure
  requester_not_entitled, // no row of the procedure lets the requester's kind ask
  provider_not_in_row,    // no such row names the provider's kind
  no_items,               // nothing asked for
  item_not_allowed,       // an item the row does not list
};
std::string_view refusal_name(Refusal refusal);  // "unknown-procedure", …

struct Decision {
  Refusal refusal = Refusal::none;
  int row = 0;             // the row that allows it (or the row whose items refused one), else 0
  std::string item;        // item_not_allowed: the first item not listed
  std::string message;     // for people and records: which rule failed, and on what

  bool allowed() const { return refusal == Refusal::none; }
};

class LegalTable {
 public:
  // Parses a table in the shipped file's form. invalid_argument naming the row and field for a
  // malformed one (unknown body kind, empty lists, an item code not of [A-Z0-9]{5}, one procedure
  // code with two names, two rows of one procedure and provider kind).
  static Result<LegalTable> load(std::string_view json);
  // The shipped table (shipped_legal_table()), loaded once; it is checked by the tests, so a
  // failure here is a build that was never tested: internal.
  static Result<const LegalTable*> shipped();

  // May a body of `requester` ask a body of `provider` for `items` for `procedure`?
  Decision decide(BodyKind requester, std::string_view procedure, BodyKind provider,
                  const std::vector<std::string>& items) const;

  const std::vector<LegalRow>& rows() const { return rows_; }

 private:
  std::vector<LegalRow> rows_;
};

}  // namespace jlis::linkage
