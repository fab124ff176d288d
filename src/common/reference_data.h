// The reference data in ../shared/data: municipalities and towns. Read-only once loaded; safe to
// share between threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/identifiers.h"
#include "common/status.h"

namespace jlis {

struct Municipality {
  LocalGovernmentCode code;
  std::string prefecture;  // 北海道
  std::string name;        // 札幌市中央区 (no 郡)
  std::string type;        // 都道府県/政令市/行政区/市/特別区/町/村
  std::string furigana;    // hiragana
};

// name and koaza view the ReferenceData's copy of towns.csv: valid as long as the ReferenceData.
struct Town {
  uint32_t municipality_index;  // into ReferenceData::municipalities()
  std::string_view name;        // 旭ケ丘一丁目
  std::string_view koaza;       // may be empty
};

// A free-text address split into its parts.
struct ParsedAddress {
  const Municipality* municipality = nullptr;
  std::string town;  // as in towns.csv ("" when no town matched)
  std::string rest;  // what follows the town (番地, building)
  // prefecture + municipality name + town + rest, in canonical spelling.
  std::string canonical() const;
};

class ReferenceData {
 public:
  // Loads municipalities.csv from `dir` and checks that towns.csv is there. towns.csv (277k rows)
  // is read and joined to the municipalities on first use of a town (towns(), towns_of(),
  // parse_address(), unjoined_*()), once, safely from any thread: most commands never use one.
  // The join is the data README's (strip …郡; match ヶ/ケ and 檮/梼 spellings through fold_variants).
  static Result<std::shared_ptr<const ReferenceData>> load(const std::string& dir);
  // JLIS_REFERENCE_DATA from the environment, else the compile-time JLIS_REFERENCE_DIR.
  static std::string default_dir();

  const std::vector<Municipality>& municipalities() const { return municipalities_; }
  // Grouped by municipality in municipalities() order; within one, in towns.csv order.
  // Empty when towns.csv cannot be read (parse_address then answers why).
  const std::vector<Town>& towns() const;
  // Municipalities that hold residents: not 都道府県 and not 政令市 (whose wards hold them).
  std::vector<const Municipality*> resident_municipalities() const;
  const Municipality* find(LocalGovernmentCode code) const;
  // The local government that acts for `code`: a ward's (行政区) designated city (政令市), else the
  // municipality itself; null for an unknown code.
  const Municipality* local_government_of(LocalGovernmentCode code) const;
  // Towns of one municipality (empty when towns.csv has none for it).
  std::vector<const Town*> towns_of(LocalGovernmentCode code) const;

  // Parses "東京都千代田区千代田1-1", "千代田区千代田１－１", "北海道石狩郡当別町…" (with or without the
  // prefecture, 郡, variant spellings). Fails with invalid_argument when no municipality matches.
  //
  // Matching is on address_key: the longest municipality name (alone, or after its prefecture, or
  // after its 郡 as towns.csv spells it) that starts the text, then the longest town of that
  // municipality that starts what follows. A town also matches without its leading 大字/字 and
  // with 丁目 in Arabic digits (旭ケ丘1丁目 for 旭ケ丘一丁目). A designated city without its ward
  // (札幌市北一条西二丁目) resolves to the ward whose town matches, else to the 政令市 itself with
  // no town. `town` is "" when no town matches. A name shared by several
  // municipalities (府中市, 伊達市) without its prefecture is resolved by which of them has the
  // longest matching town; when that does not single one out the call fails with invalid_argument
  // "ambiguous municipality". `rest` is the remaining text after NFKC, trimmed; the municipality
  // pointer is valid as long as this ReferenceData. Error messages never contain the address.
  Result<ParsedAddress> parse_address(std::string_view text) const;

  // towns.csv rows left out of towns() because their city matched no municipality (cities created
  // or renamed after the 2016 code list: 丹波篠山市, 那珂川市), and those cities as prefecture + city
  // ("兵庫県丹波篠山市").
  size_t unjoined_town_rows() const;
  const std::vector<std::string>& unjoined_cities() const;

 private:
  ReferenceData() = default;
  std::vector<Municipality> municipalities_;
  struct Index;
  std::shared_ptr<Index> index_;
  static Status load_towns(const std::vector<Municipality>& munis, Index& index);
  const Index& with_towns() const;
};

}  // namespace jlis
