#include "common/romaji.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace jlis {
namespace {

class RomajiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = ReferenceData::load(JLIS_REFERENCE_DIR);
    ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
    reference_ = *loaded;
  }
  static void TearDownTestSuite() { reference_.reset(); }

  static std::string romaji_of(const char* code) {
    const Municipality* m = reference_->find(*LocalGovernmentCode::parse(code));
    EXPECT_NE(m, nullptr) << code;
    if (m == nullptr) return "";
    auto r = romaji_name(*reference_, *m);
    EXPECT_TRUE(r.ok()) << code << ": " << r.status().to_string();
    return r.ok() ? *r : "";
  }

  static std::shared_ptr<const ReferenceData> reference_;
};
std::shared_ptr<const ReferenceData> RomajiTest::reference_;

bool ends_with_text(const std::string& s, const std::string& end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

TEST_F(RomajiTest, KnownNames) {
  const std::map<std::string, std::string> known = {
      {"130001", "Tokyo-to"},          // long vowels: とうきょう
      {"270008", "Osaka-fu"},          // おおさか
      {"260002", "Kyoto-fu"},
      {"010006", "Hokkaido"},          // no suffix
      {"100005", "Gunma-ken"},         // ん before m: n
      {"132217", "Kiyose-shi"},        // a large よ after き stays kiyo
      {"131016", "Chiyoda-ku"},
      {"131024", "Chuo-ku"},           // ちゅうおう
      {"011011", "Sapporo-shi Chuo-ku"},  // a ward of a designated city; っ doubles
      {"133086", "Okutama-machi"},     // 町 まち
      {"014001", "Kutchan-cho"},       // 町 ちょう; っ before ch is t
      {"133078", "Hinohara-mura"},     // 村 むら
      {"473243", "Yomitan-son"},       // 村 そん
      {"335860", "Shinjo-son"},        // a corrected reading (listed しんじようそん)
      {"112062", "Gyoda-shi"},         // a corrected reading (listed ぎようだし)
      {"285862", "Shin'onsen-cho"},    // ん before a vowel: n'
      {"062138", "Nan'yo-shi"},        // ん before y: n'
      {"012190", "Monbetsu-shi"},      // ん before b: n (modified Hepburn)
      {"014231", "Nanporo-cho"},       // ん before p: n
      {"013471", "Oshamanbe-cho"},     // しゃ sha; ん before b
      {"152081", "Ojiya-shi"},         // ぢ ji
      {"072028", "Aizuwakamatsu-shi"}, // づ zu
      {"183229", "Eiheiji-cho"},       // えい stays
      {"202053", "Iida-shi"},          // いい stays
      {"015644", "Ozora-cho"},         // おお
  };
  for (const auto& [code, name] : known) EXPECT_EQ(romaji_of(code.c_str()), name) << code;
}

TEST_F(RomajiTest, EveryMunicipalityHasAnAsciiNameWithTheSuffixOfItsReading) {
  size_t checked = 0;
  for (const Municipality& m : reference_->municipalities()) {
    SCOPED_TRACE(m.code.str() + " " + m.name + " " + m.furigana);
    auto r = romaji_name(*reference_, m);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    const std::string& name = *r;
    ASSERT_FALSE(name.empty());
    for (char c : name)
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '\'' || c == ' ') << name;
    EXPECT_TRUE(name[0] >= 'A' && name[0] <= 'Z') << name;
    // The suffix by the kind of place and, for 町 and 村, by the reading.
    std::string suffix;
    if (m.name == "北海道") suffix = "Hokkaido";
    else if (m.type == "都道府県") suffix = ends_with_text(m.name, "都") ? "-to" : ends_with_text(m.name, "府") ? "-fu" : "-ken";
    else if (m.type == "市" || m.type == "政令市") suffix = "-shi";
    else if (m.type == "特別区" || m.type == "行政区") suffix = "-ku";
    else if (m.type == "町") suffix = ends_with_text(m.furigana, "まち") ? "-machi" : "-cho";
    else if (m.type == "村") suffix = ends_with_text(m.furigana, "むら") ? "-mura" : "-son";
    ASSERT_FALSE(suffix.empty()) << m.type;
    EXPECT_TRUE(ends_with_text(name, suffix)) << name << " does not end with " << suffix;
    EXPECT_EQ(name.find("-", 0) == std::string::npos, m.name == "北海道") << name;
    // A ward carries its city; no other name has a space.
    EXPECT_EQ(name.find(' ') != std::string::npos, m.type == "行政区") << name;
    // The long vowels ou and uu are never written (Chuo, not Chuou).
    EXPECT_EQ(name.find("ou"), std::string::npos) << name;
    EXPECT_EQ(name.find("uu"), std::string::npos) << name;
    ++checked;
  }
  EXPECT_EQ(checked, reference_->municipalities().size());
  EXPECT_GT(checked, 1900u);
}

TEST_F(RomajiTest, WithinAPrefectureOnlyTrueHomonymsShareAName) {
  // 江差町 and 枝幸町 (Hokkaido) are both read えさしちょう: the same romaji, as in real life. Every
  // other municipality's two localities name it alone.
  std::map<std::string, std::vector<std::string>> by_name;
  for (const Municipality& m : reference_->municipalities()) {
    if (m.type == "都道府県") continue;
    by_name[m.prefecture + "/" + romaji_name(*reference_, m).value()].push_back(m.name);
  }
  std::map<std::string, std::vector<std::string>> shared;
  for (const auto& [name, places] : by_name)
    if (places.size() > 1) shared[name] = places;
  const std::map<std::string, std::vector<std::string>> expected = {{"北海道/Esashi-cho", {"江差町", "枝幸町"}}};
  EXPECT_EQ(shared, expected);
}

TEST_F(RomajiTest, LocalityIsThePrefectureAndTheMunicipality) {
  auto kiyose = romaji_locality(*reference_, *LocalGovernmentCode::parse("132217"));
  ASSERT_TRUE(kiyose.ok()) << kiyose.status().to_string();
  EXPECT_EQ(*kiyose, (RomajiLocality{"Tokyo-to", "Kiyose-shi"}));
  auto ward = romaji_locality(*reference_, *LocalGovernmentCode::parse("011011"));
  ASSERT_TRUE(ward.ok());
  EXPECT_EQ(*ward, (RomajiLocality{"Hokkaido", "Sapporo-shi Chuo-ku"}));
  // A well-formed code that names no municipality.
  auto missing = LocalGovernmentCode::parse("139998");
  if (missing.ok()) {
    EXPECT_EQ(romaji_locality(*reference_, *missing).status().code(), Code::not_found);
  }
}

TEST_F(RomajiTest, EveryMunicipalitysLocalityNamesItsOwnPrefecture) {
  std::map<std::string, std::string> prefectures;  // 東京都 -> Tokyo-to
  for (const Municipality& m : reference_->municipalities())
    if (m.type == "都道府県") prefectures[m.name] = romaji_name(*reference_, m).value();
  ASSERT_EQ(prefectures.size(), 47u);
  int checked = 0;
  for (const Municipality& m : reference_->municipalities()) {
    if (m.type == "都道府県") continue;
    auto locality = romaji_locality(*reference_, m.code);
    ASSERT_TRUE(locality.ok()) << m.name << ": " << locality.status().to_string();
    EXPECT_EQ(locality->prefecture, prefectures.at(m.prefecture)) << m.name;
    EXPECT_EQ(locality->municipality, romaji_name(*reference_, m).value()) << m.name;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(reference_->municipalities().size()) - 47);
}

TEST(Hepburn, SyllablesAndItsVariant) {
  const std::map<std::string, std::string> cases = {
      {"きょうと", "kyoto"},   {"しゃ", "sha"},        {"ちゅうおう", "chuo"},   {"じょうえつ", "joetsu"},
      {"さっぽろ", "sapporo"}, {"くっちゃん", "kutchan"}, {"しんおんせん", "shin'onsen"},
      {"なんよう", "nan'yo"},  {"ぐんま", "gunma"},    {"なんば", "nanba"},      {"しんぺい", "shinpei"},
      {"おおさか", "osaka"},   {"ふじ", "fuji"},       {"つづき", "tsuzuki"},    {"おぢや", "ojiya"},
      {"いいだ", "iida"},      {"えいへいじ", "eiheiji"}, {"とーきょー", "tokyo"},
  };
  for (const auto& [kana, romaji] : cases) {
    auto r = hepburn(kana);
    ASSERT_TRUE(r.ok()) << kana << ": " << r.status().to_string();
    EXPECT_EQ(*r, romaji) << kana;
  }
  for (const char* bad : {"", "トウキョウ", "東京", "tokyo", "っ", "さっ", "ゃ", "んゃ"})
    EXPECT_EQ(hepburn(bad).status().code(), Code::invalid_argument) << bad;
}

}  // namespace
}  // namespace jlis
