// `jlis documents render` on a generated population, as the municipal window uses it: every one of
// the six documents for a generated resident, read back with pdftotext; a refusal is a message, exit
// status 1 and no file; bad input is a clear error.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/date.h"
#include "jlis_process.h"
#include "template_dir.h"

namespace jlis::e2e {
namespace {

struct Person {
  std::string code, name, kana, date_of_birth;
};

class DocumentsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("documents");
    const auto out = prepared_dir(dir_, {{"init", "--data", "{dir}"},
                                         {"population", "generate", "--data", "{dir}", "--count", "300", "--seed", "5"}});
    ASSERT_EQ(out.size(), 2u) << out.back().err;
    ASSERT_EQ(out[1].exit_code, 0) << out[1].err;
    auto csv = jlis({"residents", "export", "--data", dir_});
    ASSERT_EQ(csv.exit_code, 0) << csv.err;
    std::istringstream in(csv.out);
    std::string line;
    std::getline(in, line);  // resident_code,name,name_kana,date_of_birth,...
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::istringstream row(line);
      for (std::string cell; std::getline(row, cell, ',');) f.push_back(cell);
      if (f.size() >= 4) people_.push_back({f[0], f[1], f[2], f[3]});
    }
    ASSERT_GT(people_.size(), 250u);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Output render(const Person& p, const std::string& type, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"documents", "render", "--data", dir_, "--resident", p.code, "--type", type,
                                     "--output", pdf_path()};
    args.insert(args.end(), extra.begin(), extra.end());
    return jlis(args);
  }
  std::string pdf_path() const { return dir_ + "/document.pdf"; }
  std::string text() const { return pdf_text(pdf_path()); }
  static std::string spaced(const std::string& s) { return ascii_spaced(s); }

  std::string dir_;
  std::vector<Person> people_;
};

TEST_F(DocumentsE2E, EachOfTheSixDocumentsRendersForAGeneratedResidentWithTheirNameFuriganaAndData) {
  // A generated adult with a seal, a family register here and tax records (most adults).
  const Person* who = nullptr;
  for (const Person& p : people_) {
    if (render(p, "inkan").exit_code == 0 && render(p, "koseki").exit_code == 0 && render(p, "kazei").exit_code == 0) {
      who = &p;
      break;
    }
  }
  ASSERT_NE(who, nullptr) << "no generated resident has a seal, a register and a tax record";
  const std::string era_birth = format_japanese(Date::parse_iso(who->date_of_birth).value()).value();
  const std::vector<std::pair<std::string, std::string>> documents = {
      {"juminhyo", "住民票の写し"}, {"kisai-jiko", "住民票記載事項証明書"}, {"inkan", "印鑑登録証明書"},
      {"koseki", "戸籍全部事項証明書"}, {"koseki-fuhyo", "戸籍の附票の写し"}, {"kazei", "所得・課税証明書"}};
  for (const auto& [type, title] : documents) {
    SCOPED_TRACE(type);
    std::filesystem::remove(pdf_path());
    auto out = render(*who, type);
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_NE(out.out.find("issued "), std::string::npos) << out.out;
    const std::string t = text();
    EXPECT_NE(t.find(spaced(title)), std::string::npos) << t;  // the title is letter-spaced by the layout
    EXPECT_NE(t.find(spaced(who->name)), std::string::npos) << t;
    EXPECT_NE(t.find(spaced(who->kana)), std::string::npos) << t;
    EXPECT_NE(t.find(era_birth), std::string::npos) << t;
    EXPECT_EQ(t.find(who->code), std::string::npos) << "no document prints the resident code";
  }
  auto log = jlis({"documents", "log", "--data", dir_, "--resident", who->code});
  ASSERT_EQ(log.exit_code, 0);
  size_t issued = 0;
  for (size_t at = 0; (at = log.out.find(",issued,", at)) != std::string::npos; ++at) ++issued;
  EXPECT_EQ(issued, 9u) << log.out;  // the three of the search and the six
}

TEST_F(DocumentsE2E, ARefusalIsAMessageAndExitStatusOneAndWritesNoFile) {
  // A child: no seal can be registered under 15.
  const Date today = Date::today();
  const Person* child = nullptr;
  for (const Person& p : people_)
    if (age_on(Date::parse_iso(p.date_of_birth).value(), today) < 15) {
      child = &p;
      break;
    }
  ASSERT_NE(child, nullptr);
  std::filesystem::remove(pdf_path());
  auto out = render(*child, "inkan");
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("refused (no_seal)"), std::string::npos) << out.err;
  EXPECT_FALSE(std::filesystem::exists(pdf_path()));
  auto log = jlis({"documents", "log", "--data", dir_, "--resident", child->code});
  EXPECT_NE(log.out.find(",inkan,window,,no_seal,"), std::string::npos) << log.out;
}

TEST_F(DocumentsE2E, BadInputIsAClearErrorAndWritesNothing) {
  Person unknown{"12345678901", "", "", ""};
  auto bad_code = render(unknown, "juminhyo");
  EXPECT_EQ(bad_code.exit_code, 1);
  EXPECT_NE(bad_code.err.find("resident code"), std::string::npos) << bad_code.err;
  auto bad_type = render(people_.front(), "passport");
  EXPECT_NE(bad_type.exit_code, 0);
  EXPECT_NE(bad_type.err.find("--type"), std::string::npos) << bad_type.err;
  auto bad_year = render(people_.front(), "kazei", {"--fiscal-year", "1999"});
  EXPECT_EQ(bad_year.exit_code, 1);
  EXPECT_NE(bad_year.err.find("fiscal_year"), std::string::npos) << bad_year.err;
  EXPECT_FALSE(std::filesystem::exists(pdf_path()));
}

}  // namespace
}  // namespace jlis::e2e
