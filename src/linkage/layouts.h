// The data standard layout (データ標準レイアウト, issue 11 §3) as versioned data: the information
// items (特定個人情報名) with their item codes, types, maximum lengths and code lists, and per
// procedure (事務) the items of its layout and which of them a record must carry.
//
// The layout is revised yearly in July, and may be revised in between (an interim revision). Each
// version is whole (nothing inherited from the one before) and is in force from its effective date
// until the day before the next version's; a body sends and receives in the version in force on the
// day, and the platform names it. The shipped versions are src/linkage/data/layouts.json, embedded
// at build time (shipped_layouts()). No wall clock here: the caller says which day. Immutable once
// loaded; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/date.h"
#include "common/status.h"

namespace jlis::linkage {

// The text of src/linkage/data/layouts.json as built.
std::string_view shipped_layouts();

// How an item's value is written (always as text):
//   string   any UTF-8; max_length counts characters
//   integer  decimal digits only (amounts and counts are never negative); max_length counts digits
//   date     YYYY-MM-DD, a day that exists
//   code     one of the item's code list
enum class ItemType { string, integer, date, code };

struct LayoutItem {
  std::string code;  // 5 of [A-Z0-9] ("TX001")
  std::string name;  // 特定個人情報名
  ItemType type = ItemType::string;
  int max_length = 0;
  std::map<std::string, std::string> codes;  // code items: value → meaning
};

struct ProcedureLayout {
  std::string procedure;  // 事務 code, as in the legal table ("J026-01")
  std::string name;
  std::vector<std::string> items;  // the layout's items, in order
  std::set<std::string> required;  // items a record must carry (non-empty)
};

struct LayoutVersion {
  std::string version;        // "2025.07"
  std::string revision;       // "yearly" or "interim"
  Date effective_from;
  std::optional<Date> effective_until;  // the last day in force; none for the newest version
  std::map<std::string, LayoutItem> items;            // by item code
  std::map<std::string, ProcedureLayout> procedures;  // by procedure code
};

// The rule a record broke, checked per item in item-code order (the first item that fails is named),
// then the required items in the layout's order.
enum class LayoutRule {
  none,              // valid
  unknown_procedure, // the version has no layout for the procedure
  unknown_item,      // not an item of the procedure's layout in this version
  wrong_type,        // not an integer, not a date, not a code (empty counts as wrong for these)
  too_long,          // longer than max_length
  not_in_code_list,  // a code the item's list does not have
  missing_required,  // a required item absent or empty
};
std::string_view layout_rule_name(LayoutRule rule);  // "unknown-item", …

struct Validation {
  LayoutRule rule = LayoutRule::none;
  std::string item;     // the item that failed (empty for none and unknown_procedure)
  std::string message;  // which rule, which item, in which version

  bool ok() const { return rule == LayoutRule::none; }
};

class DataLayouts {
 public:
  // Parses versions in the shipped file's form. invalid_argument naming the version and item for a
  // malformed one: effective dates not strictly increasing, a version id twice, an unknown type, a
  // code list on a non-code item or none on a code item, a layout naming an item the version lacks,
  // a required item not in its layout.
  static Result<DataLayouts> load(std::string_view json);
  // The shipped layouts (shipped_layouts()), loaded once; internal when they do not load.
  static Result<const DataLayouts*> shipped();

  // The version in force on `day`: the latest whose effective_from is on or before it. not_found
  // for a day before the first version.
  Result<const LayoutVersion*> version_in_force(Date day) const;
  // A version by its id; not_found when unknown.
  Result<const LayoutVersion*> version(std::string_view id) const;
  const std::vector<LayoutVersion>& versions() const { return versions_; }

  // Checks a record of `procedure` (item code → value) against `version`.
  static Validation validate(const LayoutVersion& version, std::string_view procedure,
                             const std::map<std::string, std::string>& values);
  // Checks items outside any procedure (a replica's): each an item of `version` (unknown_item
  // otherwise) keeping its type, length and code list, in item-code order.
  static Validation validate_items(const LayoutVersion& version, const std::map<std::string, std::string>& values);

 private:
  std::vector<LayoutVersion> versions_;  // oldest first
};

}  // namespace jlis::linkage
