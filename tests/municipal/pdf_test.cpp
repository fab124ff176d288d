// The document renderer (municipal/pdf.h), read back with the real tools: pdftotext, pdffonts,
// pdfinfo, pdftoppm and zbarimg.
#include "municipal/pdf.h"

#include <gtest/gtest.h>

#include <regex>

#include "documents.h"
#include "municipal/verification.h"

namespace jlis::municipal {
namespace {

using testing::household;
using testing::inkan;
using testing::juminhyo;
using testing::run;
using testing::TempDir;

class Pdf : public ::testing::Test {
 protected:
  // Renders `d` signed with key_ into the temporary directory; answers the file's path.
  std::string render(const Document& d, const std::string& name) {
    auto code = make_verification_code(d, key_.get());
    EXPECT_TRUE(code.ok()) << code.status().to_string();
    auto pdf = render_pdf(d, *code);
    EXPECT_TRUE(pdf.ok()) << pdf.status().to_string();
    return dir_.write(name, pdf.ok() ? *pdf : std::string());
  }
  // The text of the file (or of one page), as pdftotext reads it keeping the layout, spaces
  // normalised (normalised()).
  std::string text(const std::string& file, int page = 0) {
    const std::string pages = page > 0 ? " -f " + std::to_string(page) + " -l " + std::to_string(page) : "";
    auto out = run("pdftotext -layout -enc UTF-8" + pages + " '" + file + "' -");
    EXPECT_EQ(out.exit_code, 0);
    return normalised(out.text);
  }
  // Every run of spaces (ideographic ones too: the names' 「山田　花子」) as one ASCII space:
  // pdftotext -layout pads columns with spaces.
  static std::string normalised(const std::string& text) {
    return std::regex_replace(std::regex_replace(text, std::regex("\xE3\x80\x80"), " "), std::regex(" +"), " ");
  }
  bool has(const std::string& text, const std::string& expected) {
    return text.find(normalised(expected)) != std::string::npos;
  }
  // The words of one page with their vertical extent (pdftotext -bbox), in points from the top.
  struct Word {
    std::string text;
    double top = 0, bottom = 0;
  };
  std::vector<Word> words(const std::string& file, int page) {
    const std::string p = std::to_string(page);
    const std::string html = run("pdftotext -bbox -f " + p + " -l " + p + " '" + file + "' -").text;
    std::vector<Word> out;
    const std::regex word(R"re(<word xMin="[-\d.]+" yMin="([-\d.]+)" xMax="[-\d.]+" yMax="([-\d.]+)">([^<]*)</word>)re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), word); it != std::sregex_iterator(); ++it)
      out.push_back({(*it)[3], std::stod((*it)[1]), std::stod((*it)[2])});
    return out;
  }
  int page_count(const std::string& file) {
    std::smatch m;
    const std::string info = run("pdfinfo '" + file + "'").text;
    return std::regex_search(info, m, std::regex(R"(Pages:\s+(\d+))")) ? std::stoi(m[1]) : -1;
  }

  pki::EvpPkeyPtr key_ = testing::p256_key();
  TempDir dir_;
};

TEST_F(Pdf, TextShowsTitleValuesFuriganaCertificationMayorIssuanceNumberAndPageNumber) {
  const std::string t = text(render(juminhyo(), "juminhyo.pdf"));
  for (const char* expected : {"住民票の写し", "山田　花子", "ヤマダ　ハナコ", "ヤマダ　タロウ", "昭和60年4月12日",
                               "東京都千代田区九段南一丁目2番1号", "以下余白",
                               "この写しは、住民票の原本と相違ないことを証明する。", "令和7年12月2日", "千代田区長",
                               "樋口　高顕", "131016-2025-0012345", "1/1"}) {
    EXPECT_TRUE(has(t, expected)) << expected << " not in:\n" << t;
  }
}

TEST_F(Pdf, FuriganaIsPrintedAboveItsName) {
  const std::string t = text(render(juminhyo(), "juminhyo.pdf"));
  const size_t furigana = t.find("ヤマダ ハナコ"), name = t.find("山田 花子");
  ASSERT_NE(furigana, std::string::npos);
  ASSERT_NE(name, std::string::npos);
  EXPECT_LT(furigana, name);
}

TEST_F(Pdf, EveryFontIsEmbedded) {
  const auto fonts = run("pdffonts '" + render(juminhyo(), "juminhyo.pdf") + "'");
  ASSERT_EQ(fonts.exit_code, 0);
  // name type encoding emb sub uni object ID: two header lines, then one line a font.
  std::istringstream lines(fonts.text);
  std::string line;
  int listed = 0;
  for (int i = 0; std::getline(lines, line); ++i) {
    if (i < 2 || line.empty()) continue;
    ++listed;
    EXPECT_NE(line.find("Noto"), std::string::npos) << line;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(line, m, std::regex(R"(\s(yes|no)\s+(yes|no)\s+(yes|no)\s)"))) << line;
    EXPECT_EQ(m[1], "yes") << "not embedded: " << line;
  }
  EXPECT_GE(listed, 1);
}

TEST_F(Pdf, MetadataCarriesTitleSubjectAndCreator) {
  const auto info = run("pdfinfo '" + render(juminhyo(), "juminhyo.pdf") + "'");
  ASSERT_EQ(info.exit_code, 0);
  EXPECT_TRUE(std::regex_search(info.text, std::regex("Subject:\\s+山田　花子\n"))) << info.text;
  EXPECT_TRUE(std::regex_search(info.text, std::regex("Title:\\s+住民票の写し\n"))) << info.text;
  EXPECT_TRUE(std::regex_search(info.text, std::regex("Creator:\\s+OpenJLIS\n"))) << info.text;
  EXPECT_TRUE(std::regex_search(info.text, std::regex("Page size:\\s+595.2\\d* x 841.8\\d* pts \\(A4\\)"))) << info.text;
}

TEST_F(Pdf, AGridLongerThanAPageBreaksAcrossPagesRepeatingItsHeader) {
  const std::string file = render(household(24), "household.pdf");
  ASSERT_EQ(page_count(file), 2);
  const std::string first = text(file, 1), second = text(file, 2);
  for (const char* header : {"生年月日", "続柄", "住民となった年月日", "住所を定めた年月日"}) {
    EXPECT_TRUE(has(first, header)) << header;
    EXPECT_TRUE(has(second, header)) << header << " not repeated on page 2:\n" << second;
  }
  EXPECT_NE(first.find("1/2"), std::string::npos);
  EXPECT_NE(second.find("2/2"), std::string::npos);
  // Every person exactly once, in order, the last one on page 2 with the certification.
  const std::string all = first + second;
  size_t at = 0;
  for (int i = 1; i <= 24; ++i) {
    const std::string name = "山田 人" + std::to_string(i) + " ";
    const size_t found = all.find(name, at);
    ASSERT_NE(found, std::string::npos) << name;
    EXPECT_EQ(all.find(name, found + 1), std::string::npos) << name << " printed twice";
    at = found;
  }
  EXPECT_TRUE(has(second, "山田 人24 "));
  EXPECT_FALSE(has(first, "この写しは、"));
  EXPECT_TRUE(has(second, "この写しは、住民票の原本と相違ないことを証明する。"));
}

TEST_F(Pdf, AShortDocumentIsOnePage) { EXPECT_EQ(page_count(render(household(3), "short.pdf")), 1); }

TEST_F(Pdf, EveryPagesQrCodeDecodesToThePayloadThatVerifiesWithTheMunicipalitysKeyOnly) {
  const Document d = household(24);
  auto code = make_verification_code(d, key_.get());
  ASSERT_TRUE(code.ok());
  auto pdf = render_pdf(d, *code);
  ASSERT_TRUE(pdf.ok()) << pdf.status().to_string();
  const std::string file = dir_.write("household.pdf", *pdf);
  ASSERT_EQ(run("pdftoppm -r 100 -png '" + file + "' '" + (dir_.path() / "page").string() + "'").exit_code, 0);
  auto other = testing::p256_key();
  for (const char* page : {"page-1.png", "page-2.png"}) {
    const auto scanned = run("zbarimg --quiet --raw -Sdisable -Sqrcode.enable '" + (dir_.path() / page).string() +
                               "' 2>/dev/null");
    ASSERT_EQ(scanned.exit_code, 0) << page << ": no code found";
    std::string payload = scanned.text;
    while (!payload.empty() && (payload.back() == '\n' || payload.back() == '\r')) payload.pop_back();
    EXPECT_EQ(payload, code->payload) << page;

    auto verified = verify(payload, key_.get());
    ASSERT_TRUE(verified.ok()) << verified.status().to_string();
    EXPECT_EQ(verified->issuance_number, d.issuance_number);
    EXPECT_EQ(verified->municipality, d.issuer.code);
    EXPECT_EQ(verified->issued_on, d.issued_on);
    EXPECT_EQ(verified->content_digest, content_digest(d));

    EXPECT_EQ(verify(payload, other.get()).status().code(), Code::unauthenticated);
    std::string changed = payload;
    changed[changed.size() / 2] = changed[changed.size() / 2] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify(changed, key_.get()).ok());
  }
}

TEST_F(Pdf, TheSealImpressionIsEmbeddedAsAnImage) {
  const std::string file = render(inkan(), "inkan.pdf");
  const auto images = run("pdfimages -list '" + file + "'");
  ASSERT_EQ(images.exit_code, 0);
  EXPECT_NE(images.text.find("image"), std::string::npos) << images.text;
  const std::string t = text(file);
  EXPECT_TRUE(has(t, "印影"));
  EXPECT_TRUE(has(t, "印鑑登録証明書")) << t;
}

TEST_F(Pdf, TheCertificationIsOnTheLastPageWithTheDocumentsLastRow) {
  // From a page with room to spare, through a page full short of the certification's room, to a
  // second page holding one row.
  for (int people = 10; people <= 28; ++people) {
    const std::string file = render(household(people), "fill.pdf");
    const int pages = page_count(file);
    ASSERT_GE(pages, 1);
    const std::string last = text(file, pages);
    EXPECT_TRUE(has(last, "この写しは、")) << people;
    EXPECT_TRUE(has(last, "以下余白")) << people << ": the certification's page has none of the document";
    // Below the document's last row, not over it.
    double content_bottom = 0, certification_top = 1e9;
    for (const auto& w : words(file, pages)) {
      if (w.text.find("山田") != std::string::npos || w.text.find("以下余白") != std::string::npos)
        content_bottom = std::max(content_bottom, w.bottom);
      if (w.text.starts_with("この写しは")) certification_top = w.top;
    }
    EXPECT_LT(content_bottom, certification_top) << people << ": the certification overlaps the document";
    EXPECT_TRUE(has(last, std::to_string(pages) + "/" + std::to_string(pages))) << people;
    for (int p = 1; p < pages; ++p) EXPECT_FALSE(has(text(file, p), "この写しは、")) << people;
  }
}

TEST_F(Pdf, TheSameDocumentAndCodeRenderTheSameBytes) {
  const Document d = household(20);
  auto code = make_verification_code(d, key_.get());
  ASSERT_TRUE(code.ok());
  auto a = render_pdf(d, *code), b = render_pdf(d, *code);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST_F(Pdf, ARowTallerThanAPageIsRefused) {
  Document d = juminhyo();
  std::string address;
  for (int i = 0; i < 400; ++i) address += "東京都千代田区九段南";
  std::get<FieldTable>(d.blocks[0]).rows[5].value = RubyText(address);
  auto code = make_verification_code(d, key_.get());
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(render_pdf(d, *code).status().code(), Code::invalid_argument);
}

TEST_F(Pdf, AMalformedDocumentIsRefused) {
  const Document good = household(2);
  auto code = make_verification_code(good, key_.get());
  ASSERT_TRUE(code.ok());
  ASSERT_TRUE(render_pdf(good, *code).ok());

  Document d = good;
  std::get<GridTable>(d.blocks[1]).rows[0].pop_back();
  EXPECT_EQ(render_pdf(d, *code).status().code(), Code::invalid_argument) << "a row short of a cell";
  d = good;
  std::get<GridTable>(d.blocks[1]).column_weights.pop_back();
  EXPECT_EQ(render_pdf(d, *code).status().code(), Code::invalid_argument) << "a weight missing";
  d = good;
  std::get<GridTable>(d.blocks[1]).column_weights[0] = 0;
  EXPECT_EQ(render_pdf(d, *code).status().code(), Code::invalid_argument) << "a zero weight";
  d = good;
  d.blocks.push_back(ImageBox{"not a PNG", "印影", 20, 20});
  EXPECT_EQ(render_pdf(d, *code).status().code(), Code::invalid_argument) << "not a PNG";
  d = good;
  d.title.clear();
  EXPECT_EQ(render_pdf(d, *code).status().code(), Code::invalid_argument) << "no title";
  d = good;
  d.certification.clear();
  EXPECT_EQ(render_pdf(d, *code).status().code(), Code::invalid_argument) << "no certification";
  EXPECT_EQ(render_pdf(good, VerificationCode{std::string(5000, 'A')}).status().code(), Code::invalid_argument)
      << "a payload too long for a QR code";
}

}  // namespace
}  // namespace jlis::municipal
