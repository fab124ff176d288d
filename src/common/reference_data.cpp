#include "common/reference_data.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <unordered_map>

#include "common/files.h"
#include "common/text.h"
#include "common/text_internal.h"

namespace jlis {

using text_internal::address_fold;
using text_internal::encode;
using text_internal::nfkc;

namespace {

std::u32string key_of(std::string_view text) { return address_fold(nfkc(text)); }


// Calls row(line_number, fields) for each line after the header, which must equal `header`. These
// files have no quoted fields (checked when they were packaged), so a comma always separates.
template <class Row>
Status for_each_row(const std::string& name, std::string_view text, std::string_view header,
                    Row row) {
  size_t line_number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // towns.csv has CRLF
    ++line_number;
    if (line_number == 1) {
      if (line != header) return invalid_argument(name + ": unexpected header");
      continue;
    }
    if (line.empty()) continue;
    std::array<std::string_view, 6> fields;
    size_t n = 0;
    for (size_t pos = 0;; ++n) {
      size_t comma = line.find(',', pos);
      if (n < fields.size()) fields[n] = line.substr(pos, comma - pos);
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
    if (n + 1 != fields.size()) {
      return invalid_argument(name + " line " + std::to_string(line_number) +
                              ": expected 6 fields");
    }
    JLIS_RETURN_IF_ERROR(row(line_number, fields));
  }
  return Status::ok();
}

bool starts_with(std::u32string_view s, std::u32string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// 一..九十九 → 1..99; 0 when `s` is not such a numeral.
int kanji_number(std::u32string_view s) {
  auto digit = [](char32_t c) {
    static constexpr std::u32string_view kDigits = U"一二三四五六七八九";
    size_t i = kDigits.find(c);
    return i == std::u32string_view::npos ? 0 : static_cast<int>(i) + 1;
  };
  size_t ten = s.find(U'十');
  if (ten == std::u32string_view::npos) return s.size() == 1 ? digit(s[0]) : 0;
  if (ten > 1 || s.size() > ten + 2) return 0;
  int tens = ten == 0 ? 1 : digit(s[0]);
  int ones = s.size() == ten + 2 ? digit(s[ten + 1]) : 0;
  if (tens == 0 || (s.size() == ten + 2 && ones == 0)) return 0;
  return tens * 10 + ones;
}

}  // namespace

struct ReferenceData::Index {
  std::unordered_map<uint32_t, uint32_t> by_code;  // LocalGovernmentCode::body → municipality
  // Per municipality: [begin, end) of its towns in towns_.
  std::vector<std::pair<uint32_t, uint32_t>> town_range;
  std::vector<std::vector<uint32_t>> wards;  // per 政令市: its 行政区

  // address_key of "name", "pref name", "district name", "pref district name" → municipalities.
  std::unordered_map<std::u32string, std::vector<uint32_t>> by_alias;
  size_t max_alias = 0;

  // towns.csv, read and joined on first use (most commands never look at a town): towns_ready
  // guards towns, unjoined_*, town_range, town_keys and the 郡 aliases added to by_alias.
  std::string dir;
  std::once_flag towns_ready;
  Status towns_status = Status::ok();
  MappedFile towns_csv;  // which the towns' names view
  std::vector<Town> towns;
  size_t unjoined_town_rows = 0;
  std::vector<std::string> unjoined_cities;

  // Town keys of one municipality, built on first use: parse_address is rare next to load.
  struct TownKeys {
    std::once_flag once;
    std::unordered_map<std::u32string, uint32_t> by_key;  // → index into towns_
    size_t max_len = 0;
  };
  std::unique_ptr<TownKeys[]> town_keys;

  void build_town_keys(uint32_t municipality, const std::vector<Town>& towns) {
    TownKeys& tk = town_keys[municipality];
    auto add = [&tk](std::u32string key, uint32_t town) {
      if (key.empty()) return;
      tk.max_len = std::max(tk.max_len, key.size());
      tk.by_key.emplace(std::move(key), town);  // keeps the first: real names, then first 小字 row
    };
    auto [begin, end] = town_range[municipality];
    for (uint32_t t = begin; t < end; ++t) add(key_of(towns[t].name), t);
    // Other spellings, added after the real names so that they never shadow one.
    for (uint32_t t = begin; t < end; ++t) {
      std::u32string key = key_of(towns[t].name);
      // 旭ケ丘一丁目 is also written 旭ケ丘1丁目.
      static constexpr std::u32string_view kChome = U"丁目";
      static constexpr std::u32string_view kNumerals = U"一二三四五六七八九十";
      if (key.size() > kChome.size() && key.ends_with(kChome)) {
        size_t stem_end = key.size() - kChome.size(), start = stem_end;
        while (start > 0 && kNumerals.find(key[start - 1]) != std::u32string_view::npos) --start;
        if (int n = kanji_number(std::u32string_view(key).substr(start, stem_end - start))) {
          std::string digits = std::to_string(n);
          add(key.substr(0, start) + std::u32string(digits.begin(), digits.end()) +
                  std::u32string(kChome),
              t);
        }
      }
      // 大字上当別 / 字上当別 are also written 上当別.
      if (starts_with(key, U"大字")) {
        add(key.substr(2), t);
      } else if (starts_with(key, U"字")) {
        add(key.substr(1), t);
      }
    }
  }

  void add_alias(std::u32string key, uint32_t municipality) {
    std::vector<uint32_t>& v = by_alias[key];
    if (std::find(v.begin(), v.end(), municipality) == v.end()) v.push_back(municipality);
    max_alias = std::max(max_alias, key.size());
  }
};

std::string ReferenceData::default_dir() {
  const char* env = std::getenv("JLIS_REFERENCE_DATA");
  return env != nullptr && *env != '\0' ? env : JLIS_REFERENCE_DIR;
}

Result<std::shared_ptr<const ReferenceData>> ReferenceData::load(const std::string& dir) {
  std::shared_ptr<ReferenceData> data(new ReferenceData());
  auto index = std::make_shared<Index>();
  std::vector<Municipality>& munis = data->municipalities_;

  JLIS_ASSIGN_OR_RETURN(std::string mtext, read_file(dir + "/municipalities.csv"));
  JLIS_RETURN_IF_ERROR(
      for_each_row("municipalities.csv", mtext, "code,pref,name,type,district,furigana",
                   [&](size_t line, const std::array<std::string_view, 6>& f) -> Status {
                     auto code = LocalGovernmentCode::parse(f[0]);
                     if (!code.ok()) {
                       return invalid_argument("municipalities.csv line " + std::to_string(line) +
                                               ": " + code.status().message());
                     }
                     auto idx = static_cast<uint32_t>(munis.size());
                     if (!index->by_code.emplace(code->body(), idx).second) {
                       return invalid_argument("municipalities.csv line " + std::to_string(line) +
                                               ": duplicate code");
                     }
                     munis.push_back(Municipality{*code, std::string(f[1]), std::string(f[2]),
                                                  std::string(f[3]), std::string(f[5])});
                     return Status::ok();
                   }));

  index->wards.resize(munis.size());
  for (uint32_t i = 0; i < munis.size(); ++i) {
    const Municipality& m = munis[i];
    if (m.type == "都道府県") continue;
    index->add_alias(key_of(m.name), i);
    index->add_alias(key_of(m.prefecture + m.name), i);
    if (m.type == "行政区") {
      // The ward's city is the 政令市 of the same prefecture whose name starts the ward's name.
      for (uint32_t j = 0; j < munis.size(); ++j) {
        if (munis[j].type == "政令市" && munis[j].prefecture == m.prefecture &&
            m.name.starts_with(munis[j].name)) {
          index->wards[j].push_back(i);
        }
      }
    }
  }
  // towns.csv must be there now; it is read on first use (with_towns).
  if (!std::ifstream(dir + "/towns.csv")) return not_found("cannot open " + dir + "/towns.csv");
  index->dir = dir;
  data->index_ = std::move(index);
  return std::shared_ptr<const ReferenceData>(std::move(data));
}

// Reads towns.csv and joins its rows to the municipalities as the data README describes (strip
// …郡; match ヶ/ケ and 檮/梼 spellings through fold_variants).
Status ReferenceData::load_towns(const std::vector<Municipality>& munis, Index& index) {
  // Join key: prefecture + address_key(name), so ヶ/ケ and 檮/梼 spellings meet.
  std::unordered_map<std::u32string, uint32_t> by_pref_name;
  auto join_key = [](std::string_view pref, std::string_view name) {
    return text_internal::decode(pref) + U'\x1F' + key_of(name);
  };
  for (uint32_t i = 0; i < munis.size(); ++i)
    if (munis[i].type != "都道府県") by_pref_name.emplace(join_key(munis[i].prefecture, munis[i].name), i);

  JLIS_ASSIGN_OR_RETURN(index.towns_csv, MappedFile::open(index.dir + "/towns.csv"));
  const std::string_view ttext = index.towns_csv.text();
  size_t lines = 0;  // std::count would compare byte by byte; find is memchr
  for (size_t at = ttext.find('\n'); at != std::string_view::npos; at = ttext.find('\n', at + 1)) ++lines;
  index.towns.reserve(lines);
  std::string last_city;  // rows come grouped by city: join once per city
  int64_t last_index = -1;
  JLIS_RETURN_IF_ERROR(for_each_row(
      "towns.csv", ttext, "pref,city,town,koaza,lat,lng",
      [&](size_t, const std::array<std::string_view, 6>& f) -> Status {
        std::string_view pref = f[0], city = f[1];
        if (last_city.size() != pref.size() + city.size() + 1 ||
            last_city.compare(0, pref.size(), pref) != 0 ||
            last_city.compare(pref.size() + 1, std::string::npos, city) != 0) {
          last_city.assign(pref).append(",").append(city);
          last_index = -1;
          auto it = by_pref_name.find(join_key(pref, city));
          // 石狩郡当別町 → 当別町: municipalities.csv names towns and villages without their 郡.
          size_t gun = city.find("郡");
          if (it == by_pref_name.end() && gun != std::string_view::npos && gun > 0 &&
              (city.ends_with("町") || city.ends_with("村"))) {
            it =
                by_pref_name.find(join_key(pref, city.substr(gun + std::string_view("郡").size())));
            if (it != by_pref_name.end()) {
              index.add_alias(key_of(city), it->second);
              index.add_alias(key_of(std::string(pref) + std::string(city)), it->second);
            }
          }
          if (it != by_pref_name.end()) {
            last_index = it->second;
          } else {
            index.unjoined_cities.push_back(std::string(pref) + std::string(city));
          }
        }
        if (last_index < 0) {
          ++index.unjoined_town_rows;
        } else {
          index.towns.push_back(Town{static_cast<uint32_t>(last_index), f[2], f[3]});
        }
        return Status::ok();
      }));

  // Grouped by municipality, in file order within each (a counting sort: one move per town).
  std::vector<Town>& towns = index.towns;
  std::vector<uint32_t> next(munis.size() + 1, 0);
  for (const Town& t : towns) ++next[t.municipality_index + 1];
  for (size_t m = 1; m < next.size(); ++m) next[m] += next[m - 1];
  index.town_range.resize(munis.size());
  for (size_t m = 0; m < munis.size(); ++m) index.town_range[m] = {next[m], next[m + 1]};
  std::vector<Town> grouped(towns.size());
  for (const Town& t : towns) grouped[next[t.municipality_index]++] = t;
  towns = std::move(grouped);
  index.town_keys = std::make_unique<Index::TownKeys[]>(munis.size());
  return Status::ok();
}

const ReferenceData::Index& ReferenceData::with_towns() const {
  std::call_once(index_->towns_ready, [this] { index_->towns_status = load_towns(municipalities_, *index_); });
  return *index_;
}

const std::vector<Town>& ReferenceData::towns() const { return with_towns().towns; }
size_t ReferenceData::unjoined_town_rows() const { return with_towns().unjoined_town_rows; }
const std::vector<std::string>& ReferenceData::unjoined_cities() const { return with_towns().unjoined_cities; }

std::vector<const Municipality*> ReferenceData::resident_municipalities() const {
  std::vector<const Municipality*> out;
  for (const Municipality& m : municipalities_) {
    if (m.type != "都道府県" && m.type != "政令市") out.push_back(&m);
  }
  return out;
}

const Municipality* ReferenceData::find(LocalGovernmentCode code) const {
  auto it = index_->by_code.find(code.body());
  return it == index_->by_code.end() ? nullptr : &municipalities_[it->second];
}

const Municipality* ReferenceData::local_government_of(LocalGovernmentCode code) const {
  const Municipality* m = find(code);
  if (m == nullptr || m->type != "行政区") return m;
  // A ward is named after its city (札幌市中央区: 札幌市) in the same prefecture.
  for (const Municipality& city : municipalities_)
    if (city.type == "政令市" && city.prefecture == m->prefecture && m->name.starts_with(city.name)) return &city;
  return m;
}

std::vector<const Town*> ReferenceData::towns_of(LocalGovernmentCode code) const {
  std::vector<const Town*> out;
  const Index& index = with_towns();
  auto it = index.by_code.find(code.body());
  if (it == index.by_code.end() || !index.towns_status.is_ok()) return out;
  auto [begin, end] = index.town_range[it->second];
  for (uint32_t t = begin; t < end; ++t) out.push_back(&index.towns[t]);
  return out;
}

std::string ParsedAddress::canonical() const {
  std::string out;
  if (municipality != nullptr) out = municipality->prefecture + municipality->name;
  return out + town + rest;
}

Result<ParsedAddress> ReferenceData::parse_address(std::string_view text) const {
  if (!is_valid_utf8(text)) return invalid_argument("address is not valid UTF-8");
  const Index& index = with_towns();
  JLIS_RETURN_IF_ERROR(index.towns_status);
  std::u32string normalized = nfkc(text);
  std::vector<uint32_t> source;
  std::u32string key = address_fold(normalized, &source);

  // The longest municipality alias that starts the key.
  const std::vector<uint32_t>* candidates = nullptr;
  size_t muni_len = std::min(index.max_alias, key.size());
  for (; muni_len > 0; --muni_len) {
    auto it = index.by_alias.find(key.substr(0, muni_len));
    if (it != index.by_alias.end()) {
      candidates = &it->second;
      break;
    }
  }
  if (candidates == nullptr) return invalid_argument("no municipality matches the address");
  std::u32string_view after_muni = std::u32string_view(key).substr(muni_len);

  // The longest town of each municipality that can hold it (a 政令市 through its wards).
  struct Match {
    uint32_t municipality;
    uint32_t town;
    size_t len;
  };
  std::vector<Match> best;
  for (uint32_t c : *candidates) {
    const std::vector<uint32_t>& wards = index.wards[c];
    for (uint32_t holder : wards.empty() ? std::vector<uint32_t>{c} : wards) {
      Index::TownKeys& tk = index.town_keys[holder];
      std::call_once(tk.once, [&] { index_->build_town_keys(holder, index.towns); });
      for (size_t len = std::min(tk.max_len, after_muni.size()); len > 0; --len) {
        auto it = tk.by_key.find(std::u32string(after_muni.substr(0, len)));
        if (it == tk.by_key.end()) continue;
        if (!best.empty() && len > best[0].len) best.clear();
        if (best.empty() || len == best[0].len) best.push_back({holder, it->second, len});
        break;
      }
    }
  }

  ParsedAddress out;
  size_t consumed = muni_len;
  if (best.size() == 1) {
    out.municipality = &municipalities_[best[0].municipality];
    out.town = index.towns[best[0].town].name;
    consumed += best[0].len;
  } else if (candidates->size() == 1) {
    out.municipality = &municipalities_[(*candidates)[0]];  // no town, or one in several wards
  } else {
    return invalid_argument("ambiguous municipality");
  }

  // Map the consumed key prefix back to the NFKC'd text: what follows is the rest.
  size_t rest_begin = source[consumed - 1] + 1;
  std::u32string_view rest = std::u32string_view(normalized).substr(rest_begin);
  while (!rest.empty() && text_internal::is_space(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && text_internal::is_space(rest.back())) rest.remove_suffix(1);
  out.rest = encode(rest);
  return out;
}

}  // namespace jlis
