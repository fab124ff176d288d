#include "common/text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include "common/text_internal.h"

namespace jlis {
namespace {

TEST(Utf8, Validity) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("abc"));
  EXPECT_TRUE(is_valid_utf8("山田太郎"));
  EXPECT_TRUE(is_valid_utf8("\xF0\xA0\xAE\xB7"));   // 𠮷
  EXPECT_FALSE(is_valid_utf8("\xC3\x28"));          // bad continuation
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE5\xB1"));          // truncated 山
  EXPECT_FALSE(is_valid_utf8("\xFF"));
  EXPECT_FALSE(is_valid_utf8("山\x80"));
}

// Rule: the pieces between separators, empty ones dropped; join puts the separator between pieces
// only, and a split of a join gives the pieces back.
TEST(SplitJoin, PiecesBetweenSeparatorsWithoutEmptyOnes) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_nonempty("", ','), V{});
  EXPECT_EQ(split_nonempty(",", ','), V{});
  EXPECT_EQ(split_nonempty("a", ','), V{"a"});
  EXPECT_EQ(split_nonempty("a,,b,", ','), (V{"a", "b"}));
  EXPECT_EQ(split_nonempty(",山田,花子", ','), (V{"山田", "花子"}));
  EXPECT_EQ(join(V{}, ","), "");
  EXPECT_EQ(join(V{"a"}, ","), "a");
  EXPECT_EQ(join(std::set<std::string>{"b", "a"}, ", "), "a, b");
  const V items = {"RS001", "TX001", "TX005"};
  EXPECT_EQ(split_nonempty(join(items, ","), ','), items);
}

// ---- fold_variants --------------------------------------------------------------------------

// Rule: append_json_string writes a JSON string any JSON parser reads back as the same bytes: every
// control character, the quote and the backslash escaped, UTF-8 as it is.
TEST(JsonString, EveryControlCharacterQuoteAndBackslashRoundTrips) {
  std::string text = "\"\\/ 高橋　花子 ok";
  for (int c = 0; c < 0x20; ++c) text += static_cast<char>(c);
  text += '\x7f';
  std::string out = "[";
  append_json_string(out, text);
  out += "]";
  EXPECT_EQ(out.find_first_of(std::string("\n\r\t\0", 4)), std::string::npos) << "no raw control character";
  const auto parsed = nlohmann::json::parse(out);
  EXPECT_EQ(parsed.at(0).get<std::string>(), text);
  std::string empty;
  append_json_string(empty, "");
  EXPECT_EQ(empty, "\"\"");
}

TEST(FoldVariants, WellKnownPairs) {
  EXPECT_EQ(fold_variants("髙橋"), "高橋");
  EXPECT_EQ(fold_variants("渡邊"), "渡辺");
  EXPECT_EQ(fold_variants("渡邉"), "渡辺");
  EXPECT_EQ(fold_variants("\xEF\xA8\x91"), "崎");  // U+FA11 﨑
  EXPECT_EQ(fold_variants("山嵜"), "山崎");
  EXPECT_EQ(fold_variants("濵田"), "浜田");
  EXPECT_EQ(fold_variants("德川"), "徳川");
  EXPECT_EQ(fold_variants("齋藤"), "斎藤");
  EXPECT_EQ(fold_variants("齊藤"), "斉藤");
  EXPECT_EQ(fold_variants("澤田"), "沢田");
  EXPECT_EQ(fold_variants("中邨"), "中村");
  EXPECT_EQ(fold_variants("冨田"), "富田");
  EXPECT_EQ(fold_variants("淸水"), "清水");
  EXPECT_EQ(fold_variants("曻"), "昇");
  EXPECT_EQ(fold_variants("\xF0\xA0\xAE\xB7野家"), "吉野家");  // 𠮷
  EXPECT_EQ(fold_variants("檮原町"), "梼原町");
  EXPECT_EQ(fold_variants("龍ヶ崎市"), "龍ケ崎市");
  EXPECT_EQ(fold_variants("ｹ"), "ケ");
}

TEST(FoldVariants, LeavesOrdinaryTextAndGaAlone) {
  EXPECT_EQ(fold_variants("自由が丘"), "自由が丘");
  EXPECT_EQ(fold_variants("ながい"), "ながい");
  EXPECT_EQ(fold_variants("Tokyo 1-2"), "Tokyo 1-2");
  EXPECT_EQ(fold_variants("斎藤"), "斎藤");
  EXPECT_EQ(fold_variants("斉藤"), "斉藤");  // 斎 and 斉 are different names
  EXPECT_EQ(fold_variants(""), "");
}

TEST(FoldVariants, DropsVariationSelectors) {
  EXPECT_EQ(fold_variants("辻\xF3\xA0\x84\x80"), "辻");  // 辻 + U+E0100 (IVS)
  EXPECT_EQ(fold_variants("葛\xEF\xB8\x80城"), "葛城");  // 葛 + U+FE00
}

TEST(FoldVariants, TableIsSortedStableAndNotChained) {
  auto table = text_internal::variant_table();
  ASSERT_GE(table.size(), 20u);
  std::set<char32_t> from;
  for (size_t i = 0; i < table.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(table[i - 1].from, table[i].from) << i;
    }
    from.insert(table[i].from);
  }
  for (const auto& p : table) {
    EXPECT_EQ(from.count(p.to), 0u)
        << std::hex << static_cast<uint32_t>(p.to) << " is folded again";
    std::string to = text_internal::encode(std::u32string(1, p.to));
    // Targets are NFKC-stable, so name_key and address_key keep them.
    EXPECT_EQ(text_internal::nfkc(to), std::u32string(1, p.to)) << to;
    EXPECT_EQ(fold_variants(text_internal::encode(std::u32string(1, p.from))), to);
  }
}

// ---- name_key -------------------------------------------------------------------------------

TEST(NameKey, KanaWidthAndSpaces) {
  const std::string key = name_key("ヤマダ タロウ");
  EXPECT_EQ(key, "ヤマダタロウ");
  EXPECT_EQ(name_key("やまだ　たろう"), key);
  EXPECT_EQ(name_key("ﾔﾏﾀﾞ ﾀﾛｳ"), key);
  EXPECT_EQ(name_key("  ヤマダ\tタロウ "), key);
  EXPECT_EQ(name_key("ヤマダ\xC2\xA0タロウ"), key);  // no-break space
  EXPECT_EQ(name_key("ＹＡＭＡＤＡ"), name_key("YAMADA"));
}

TEST(NameKey, SmallKanaLongVowelsAndDashes) {
  EXPECT_EQ(name_key("キャッシュ"), "キヤツシユ");
  EXPECT_EQ(name_key("しょう"), name_key("シヨウ"));
  EXPECT_EQ(name_key("コーヒー"), "コヒ");
  EXPECT_EQ(name_key("ｺｰﾋｰ"), "コヒ");
  EXPECT_EQ(name_key("サ－ビス"), "サビス");
  EXPECT_EQ(name_key("サ―ビス"), "サビス");
  EXPECT_EQ(name_key("サ‐ビス"), "サビス");
  EXPECT_EQ(name_key("サ-ビス"), "サビス");
  EXPECT_EQ(name_key("ヶ"), "ケ");
  EXPECT_EQ(name_key("ヵ"), "カ");
  EXPECT_EQ(name_key("ヮ"), "ワ");
  EXPECT_EQ(name_key("ㇷ"), "フ");
}

TEST(NameKey, VuFamilyAndOldKana) {
  EXPECT_EQ(name_key("ヴァイオリン"), name_key("バイオリン"));
  EXPECT_EQ(name_key("ヴィ"), "ビ");
  EXPECT_EQ(name_key("ヴ"), "ブ");
  EXPECT_EQ(name_key("ヴェ"), "ベ");
  EXPECT_EQ(name_key("ヴォ"), "ボ");
  EXPECT_EQ(name_key("ゔぁ"), "バ");
  EXPECT_EQ(name_key("ウ゛"), "ブ");  // spacing sound mark
  EXPECT_EQ(name_key("ｳﾞｨ"), "ビ");   // half-width
  EXPECT_EQ(name_key("ヷ"), "バ");
  EXPECT_EQ(name_key("ぢ"), name_key("じ"));
  EXPECT_EQ(name_key("ヅ"), "ズ");
  EXPECT_EQ(name_key("を"), "オ");
  EXPECT_EQ(name_key("ヰヱ"), "イエ");
}

TEST(NameKey, VariantKanji) {
  EXPECT_EQ(name_key("髙橋 一郎"), name_key("高橋一郎"));
  EXPECT_EQ(name_key("渡邊"), name_key("渡辺"));
  EXPECT_EQ(name_key("渡邉"), name_key("渡辺"));
  EXPECT_EQ(name_key("山\xEF\xA8\x91"), name_key("山崎"));  // 山﨑
  EXPECT_EQ(name_key("齋藤"), "斎藤");
  EXPECT_NE(name_key("斎藤"), name_key("斉藤"));
  EXPECT_EQ(name_key("辻\xF3\xA0\x84\x80"), "辻");
}

TEST(NameKey, IdempotentOnTrickyText) {
  const char* samples[] = {
      "ウ ゙",    "ッ゙",     "カ-゙",          "a\xCC\x81-\xCC\xA3",
      "ᄀ ᅡ",  "ｶﾞｷﾞｸﾞ", "ヴ ァ",        "ゝゞヽヾ",
      "㍻",     "①②",     "\xEF\xBF\xBD", "\xFF\xFE",
      "ハ゜ン", "ヲ゛",   "ㇰㇱ",         "\xE3\x82\x99",
      "　",     "",
  };
  for (const char* s : samples) {
    std::string once = name_key(s);
    EXPECT_EQ(name_key(once), once) << s;
    EXPECT_TRUE(is_valid_utf8(once)) << s;
  }
}

TEST(NameKey, IdempotentOnRandomText) {
  // Code points that interact: kana, sound marks, spaces, dashes, Latin with combining marks,
  // Hangul jamo, compatibility characters, variants.
  const std::u32string pool =
      U"あいうかがはぱゔぁっゃゎゐゑをアカガハパヴァッャヮヰヱヲヶヵｶﾞﾟｰー－―‐- 　\t"
      U"\u3099\u309A\u309B\u309Ca\u0301\u0323\u0300e\u1100\u1161\u11A8㍻①髙邊﨑\uFE00";
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::u32string s;
    for (int n = static_cast<int>(rng() % 8); n >= 0; --n) s.push_back(pool[rng() % pool.size()]);
    std::string text = text_internal::encode(s);
    std::string once = name_key(text);
    ASSERT_EQ(name_key(once), once) << text;
  }
}

std::vector<std::vector<std::string>> read_names() {
  std::ifstream in(std::string(JLIS_REFERENCE_DIR) + "/names.csv");
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, ',');) fields.push_back(f);
    rows.push_back(fields);
  }
  return rows;
}

TEST(NameKey, ReferenceNamesHiraganaAndKatakanaAgree) {
  auto rows = read_names();
  ASSERT_GT(rows.size(), 13000u);
  for (const auto& r : rows) {
    ASSERT_EQ(r.size(), 5u);
    EXPECT_EQ(name_key(r[2]), name_key(r[3])) << r[2] << " / " << r[3];
    for (size_t f = 1; f <= 3; ++f) EXPECT_EQ(name_key(name_key(r[f])), name_key(r[f])) << r[f];
    auto kana = normalize_kana(r[2]);
    ASSERT_TRUE(kana.ok()) << r[2];
    EXPECT_EQ(*kana, r[3]);
  }
}

// name_key's speed (a few µs per name, so 1,000,000 residents spend seconds) is measured by
// bench/name_key_rate.cpp, not asserted here: the suite asserts behaviour, not wall-clock time.

// ---- normalize_kana / normalize_name --------------------------------------------------------

TEST(NormalizeKana, ConvertsToFullWidthKatakana) {
  EXPECT_EQ(*normalize_kana("やまだ　たろう"), "ヤマダ　タロウ");
  EXPECT_EQ(*normalize_kana("ﾔﾏﾀﾞ  ﾀﾛｳ"), "ヤマダ　タロウ");
  EXPECT_EQ(*normalize_kana("  ヤマダ \t タロウ  "), "ヤマダ　タロウ");
  EXPECT_EQ(*normalize_kana("こーひー"), "コーヒー");
  EXPECT_EQ(*normalize_kana("ｽﾐｽ･ｼﾞｮﾝ"), "スミス・ジョン");
  EXPECT_EQ(*normalize_kana("ヴァイオリン"), "ヴァイオリン");  // a reading keeps its spelling
  EXPECT_EQ(*normalize_kana("うﾞ"), "ヴ");
}

TEST(NormalizeKana, RefusesAnythingElse) {
  for (const char* bad :
       {"山田", "yamada", "ヤマダ1", "", "   ", "ヤマダ-タロウ", "\xFF", "ヤマダ、タロウ"}) {
    EXPECT_EQ(normalize_kana(bad).status().code(), Code::invalid_argument) << bad;
  }
}

TEST(NormalizeName, SpacesAndWidth) {
  EXPECT_EQ(*normalize_name("山田 太郎"), "山田　太郎");
  EXPECT_EQ(*normalize_name("  山田　 　太郎 "), "山田　太郎");
  EXPECT_EQ(*normalize_name("山田\n太郎"), "山田　太郎");
  EXPECT_EQ(*normalize_name("ＳＭＩＴＨ　ＪＯＨＮ"), "SMITH　JOHN");
  EXPECT_EQ(*normalize_name("髙橋"), "髙橋");  // storage keeps the registered character
  EXPECT_EQ(*normalize_name("ﾔﾏﾀﾞ"), "ヤマダ");
}

TEST(NormalizeName, Refuses) {
  for (const char* bad : {"", "  ", "　", "\xFF", "山田\x01太郎", "山田\x7F"}) {
    EXPECT_EQ(normalize_name(bad).status().code(), Code::invalid_argument) << bad;
  }
}

// ---- address_key ----------------------------------------------------------------------------

TEST(AddressKey, Folds) {
  EXPECT_EQ(address_key("千代田１丁目"), address_key("千代田1丁目"));
  EXPECT_NE(address_key("千代田一丁目"), address_key("千代田1丁目"));
  EXPECT_EQ(address_key("東京都 千代田区　千代田"), address_key("東京都千代田区千代田"));
  EXPECT_EQ(address_key("霞が関"), "霞ケ関");
  EXPECT_EQ(address_key("霞ヶ関"), "霞ケ関");
  EXPECT_EQ(address_key("霞ケ関"), "霞ケ関");
  EXPECT_EQ(address_key("ながの"), "ながの");  // が among kana stays
  EXPECT_EQ(address_key("1－2－3"), "1-2-3");
  EXPECT_EQ(address_key("1‐2−3"), "1-2-3");
  EXPECT_EQ(address_key("檮原町"), address_key("梼原町"));
  EXPECT_EQ(address_key("ﾏﾝｼｮﾝ"), "マンション");
  EXPECT_EQ(address_key("コーポ"), "コーポ");  // ー is part of a name here, not a dash
}

}  // namespace
}  // namespace jlis
