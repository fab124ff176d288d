// The document renderer (municipal/pdf.h), read back with the real tools: pdftotext, pdffonts,
// pdfinfo, pdftoppm and zbarimg.
#include "municipal/pdf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <set>
#include <thread>

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
    double top = 0, bottom = 0, left = 0, right = 0;
  };
  std::vector<Word> words(const std::string& file, int page) {
    const std::string p = std::to_string(page);
    const std::string html = run("pdftotext -bbox -f " + p + " -l " + p + " '" + file + "' -").text;
    std::vector<Word> out;
    const std::regex word(
        R"re(<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">([^<]*)</word>)re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), word); it != std::sregex_iterator(); ++it)
      out.push_back({(*it)[5], std::stod((*it)[2]), std::stod((*it)[4]), std::stod((*it)[1]), std::stod((*it)[3])});
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
  EXPECT_TRUE(has(first, "ヤマダ ヒト1\n")) << "a cell's furigana";
  EXPECT_TRUE(has(second, "ヤマダ ヒト24")) << "a cell's furigana";
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

TEST_F(Pdf, TheLongestIssuanceNumbersCodeStillDecodesAt100Dpi) {
  Document d = juminhyo();
  d.issuance_number = std::string(32, '7');
  for (int attempt = 0; attempt < 5; ++attempt) {  // five signatures, five different codes
    auto code = make_verification_code(d, key_.get());
    ASSERT_TRUE(code.ok());
    auto pdf = render_pdf(d, *code);
    ASSERT_TRUE(pdf.ok());
    const std::string file = dir_.write("long-number.pdf", *pdf);
    const std::string png = (dir_.path() / "long-number").string();
    ASSERT_EQ(run("pdftoppm -r 100 -png -singlefile '" + file + "' '" + png + "'").exit_code, 0);
    const auto scanned = run("zbarimg --quiet --raw -Sdisable -Sqrcode.enable '" + png + ".png' 2>/dev/null");
    EXPECT_EQ(scanned.text, code->payload + "\n") << attempt;
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

// A grey image of a region of page 1 (pdftoppm -gray), in millimetres from the top-left corner.
struct Grey {
  int width = 0, height = 0;
  std::string pixels;  // one byte a pixel, 0 black to 255 white
  // The mean of each square block of `block` pixels.
  std::vector<double> block_means(int block, bool dark_share = false, int threshold = 0) const {
    std::vector<double> out;
    for (int by = 0; by + block <= height; by += block) {
      for (int bx = 0; bx + block <= width; bx += block) {
        double sum = 0;
        for (int y = by; y < by + block; ++y)
          for (int x = bx; x < bx + block; ++x) {
            const int v = static_cast<unsigned char>(pixels[static_cast<size_t>(y) * width + x]);
            sum += dark_share ? (v < threshold ? 1 : 0) : v;
          }
        out.push_back(sum / (block * block));
      }
    }
    return out;
  }
};
Grey grey_region(const TempDir& dir, const std::string& file, int dpi, double x_mm, double y_mm, double w_mm,
                 double h_mm) {
  const auto px = [dpi](double v) { return std::to_string(static_cast<int>(v * dpi / 25.4)); };
  const std::string root = (dir.path() / ("grey" + std::to_string(dpi))).string();
  EXPECT_EQ(run("pdftoppm -gray -singlefile -f 1 -l 1 -r " + std::to_string(dpi) + " -x " + px(x_mm) + " -y " +
                px(y_mm) + " -W " + px(w_mm) + " -H " + px(h_mm) + " '" + file + "' '" + root + "'")
                .exit_code,
            0);
  std::ifstream in(root + ".pgm", std::ios::binary);
  Grey g;
  std::string magic;
  int max = 0;
  in >> magic >> g.width >> g.height >> max;
  in.get();
  g.pixels.assign(std::istreambuf_iterator<char>(in), {});
  EXPECT_EQ(magic, "P5");
  EXPECT_EQ(g.pixels.size(), static_cast<size_t>(g.width) * g.height);
  return g;
}

TEST_F(Pdf, TheBackgroundLooksEvenButAPhotocopyShowsTheWord) {
  // A blank stretch of the sheet, between 以下余白 and the certification.
  const std::string file = render(juminhyo(), "juminhyo.pdf");
  // On the sheet: a light tint, the same in every 4 mm square, word or not.
  const Grey fine = grey_region(dir_, file, 300, 20, 145, 170, 50);
  auto means = fine.block_means(static_cast<int>(4 * 300 / 25.4));
  ASSERT_GT(means.size(), 100u);
  std::sort(means.begin(), means.end());
  EXPECT_LT(means.back(), 252) << "no tint";
  EXPECT_GT(means.front(), 225) << "too dark a tint";
  EXPECT_LT(means.back() - means.front(), 10) << "the tint is uneven: the word shows on the sheet";
  // A copier, as a coarse scan (100 dpi) with a threshold: the fine dots blur into a light grey
  // above it and vanish, the coarse dots of the word stay dark; so most 4 mm squares come out
  // blank and those of the word dotted.
  const Grey copy = grey_region(dir_, file, 100, 20, 145, 170, 50);
  auto dark = copy.block_means(static_cast<int>(4 * 100 / 25.4), /*dark_share=*/true, /*threshold=*/230);
  std::sort(dark.begin(), dark.end());
  EXPECT_LT(dark[dark.size() / 2], 0.005) << "the fine tint survives the copy";
  EXPECT_GT(dark.back(), 0.08) << "the word does not survive the copy";
}

TEST_F(Pdf, TheMayorsSealIsStampedInRedAcrossTheEndOfTheName) {
  const std::string file = render(juminhyo(), "juminhyo.pdf");
  // The mayor's name as written ("樋口　高顕": its last word), in points.
  std::optional<Word> name;
  for (const auto& w : words(file, 1))
    if (w.text == "高顕") name = w;
  ASSERT_TRUE(name.has_value());
  // Page 1 in colour at 144 dpi (2 pixels a point), the name's box and as far to its right again.
  const std::string root = (dir_.path() / "colour").string();
  ASSERT_EQ(run("pdftoppm -singlefile -r 144 -f 1 -l 1 '" + file + "' '" + root + "'").exit_code, 0);
  std::ifstream in(root + ".ppm", std::ios::binary);
  std::string magic;
  int width = 0, height = 0, max = 0;
  in >> magic >> width >> height >> max;
  in.get();
  const std::string rgb(std::istreambuf_iterator<char>(in), {});
  ASSERT_EQ(rgb.size(), static_cast<size_t>(width) * height * 3);
  const auto count = [&](double left, double right, auto is) {
    int n = 0;
    for (int y = static_cast<int>(name->top * 2); y < static_cast<int>(name->bottom * 2); ++y)
      for (int x = static_cast<int>(left * 2); x < static_cast<int>(right * 2); ++x) {
        const auto* p = reinterpret_cast<const unsigned char*>(rgb.data()) + (static_cast<size_t>(y) * width + x) * 3;
        n += is(p[0], p[1], p[2]) ? 1 : 0;
      }
    return n;
  };
  const auto red = [](int r, int g, int b) { return r > 150 && g < 110 && b < 110; };
  const auto black = [](int r, int g, int b) { return r < 90 && g < 90 && b < 90; };
  const double mid = (name->left + name->right) / 2;
  EXPECT_EQ(count(name->left, mid, red), 0) << "the seal covers the name's first character";
  EXPECT_GT(count(mid, name->right, red), 20) << "the seal does not reach the name";
  EXPECT_GT(count(mid, name->right, black), 20) << "the name does not show through the seal";
  EXPECT_GT(count(name->right, name->right + (name->right - name->left), red), 200) << "no seal beside the name";
}

TEST_F(Pdf, TheSameDocumentAndCodeRenderTheSameBytes) {
  const Document d = household(20);
  auto code = make_verification_code(d, key_.get());
  ASSERT_TRUE(code.ok());
  auto a = render_pdf(d, *code), b = render_pdf(d, *code);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST_F(Pdf, ALongValueWrapsWithinItsCell) {
  Document d = juminhyo();
  const std::string address =
      "東京都千代田区九段南一丁目2番1号　千代田区役所前グランドパレスレジデンス九段南タワー棟三十二階3205号室"
      "（東京都千代田区九段南一丁目2番1号の共同住宅）";
  std::get<FieldTable>(d.blocks[0]).rows[5].value = RubyText(address);
  const std::string file = render(d, "wrap.pdf");
  std::set<double> lines;
  bool found_end = false;
  for (const auto& w : words(file, 1)) {
    if (w.text.find("宅）") != std::string::npos) found_end = true;
    if (w.text.find("九段南") != std::string::npos || w.text.find("宅）") != std::string::npos) {
      lines.insert(w.top);
      EXPECT_LE(w.right, 595.28 - 18 * 72 / 25.4 + 0.5) << w.text << " runs past the table";
    }
  }
  EXPECT_TRUE(found_end) << "the value is cut";
  EXPECT_GE(lines.size(), 2u) << "the value did not wrap";
}

TEST_F(Pdf, DocumentsRenderedAtOnceOnSeveralThreadsAreTheSame) {
  const Document d = household(20);
  auto code = make_verification_code(d, key_.get());
  ASSERT_TRUE(code.ok());
  auto expected = render_pdf(d, *code);
  ASSERT_TRUE(expected.ok());
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 3; ++k) {
        auto pdf = render_pdf(d, *code);
        results[i] = pdf.ok() ? *pdf : pdf.status().to_string();
        if (results[i] != *expected) return;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_TRUE(r == *expected);
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
