// A certificate document (証明書) as a municipality prints it on A4: the model the six kiosk
// documents (住民票の写し, 住民票記載事項証明書, 印鑑登録証明書, 戸籍全部/個人事項証明書, 戸籍の附票の写し,
// 所得・課税証明書) are built as, and that pdf.h renders and verification.h signs.
//
// A Document is plain data: the document-specific code fills it from the municipality's records,
// render_pdf lays it out (pages, furigana, the security background, the verification code, the
// mayor's certification and seal) and content_digest hashes it. Nothing here touches a record.
//
// Page layout (pdf.h): the title on every page; the blocks in order, top to bottom, breaking
// between rows (a grid table repeats its header row on every page it continues on); on the last
// page the certification sentence, the date of issue and the mayor's title, name and seal; on every
// page the background that reveals 「複写」 on a photocopy, the verification QR code with the
// issuance number, and the page number ("1/2").
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "common/date.h"
#include "common/identifiers.h"

namespace jlis::municipal {

// Text, with its furigana (ふりがな) printed small above it when `furigana` is not empty. Names
// carry their furigana (printed on certificates since May 2025). `text` may hold line breaks
// ('\n'); long text also wraps at the cell's width.
struct RubyText {
  std::string text;
  std::string furigana;

  RubyText() = default;
  RubyText(std::string t) : text(std::move(t)) {}  // NOLINT: plain text converts implicitly
  RubyText(const char* t) : text(t) {}             // NOLINT
  RubyText(std::string t, std::string f) : text(std::move(t)), furigana(std::move(f)) {}
};

// A two-column table of label → value (氏名 | 山田 太郎), boxed, the labels shaded. It may break
// between rows across pages.
struct FieldTable {
  struct Row {
    std::string label;
    RubyText value;
  };
  std::vector<Row> rows;
  // The label column's width in millimetres (the value column takes the rest of the line).
  double label_width_mm = 36;
};

// A table with column headers (the kiosk 住民票's four people a sheet, a 附票's address history, a
// tax certificate's figures), boxed, the header shaded. Cells wrap within their column; the table
// breaks between rows across pages and repeats its header row on each page.
struct GridTable {
  std::vector<std::string> headers;
  // Relative widths of the columns (any positive numbers; empty: all columns equally wide). When
  // not empty, one per header.
  std::vector<double> column_weights;
  // Every row has one cell per header.
  std::vector<std::vector<RubyText>> rows;
};

// An image in a box, its caption in a shaded cell on its left, as 印鑑登録証明書 shows the
// registered seal impression (印影). `png` is the PNG file's bytes (seal_image.h makes them); the
// image is drawn `width_mm` × `height_mm`, centred in its box.
struct ImageBox {
  std::string png;
  std::string caption;
  double width_mm = 30;
  double height_mm = 30;
};

// One paragraph of text across the line (以下余白, a remark, the certification of a field). It
// wraps at the content width and never breaks across pages.
struct Note {
  enum class Align { left, center, right };
  std::string text;
  Align align = Align::left;
};

using Block = std::variant<FieldTable, GridTable, ImageBox, Note>;

// The municipality that issues the document and whose mayor (市区町村長) certifies it.
struct Issuer {
  LocalGovernmentCode code;  // 地方公共団体コード: signed into the verification code
  std::string name;          // "千代田区"
  std::string mayor_title;   // "千代田区長"
  std::string mayor_name;    // "山田　一郎"
  // The text of the mayor's official seal (職印); empty: mayor_title + "之印" ("千代田区長之印").
  std::string seal_text;
};

struct Document {
  std::string title;  // "住民票の写し"
  Issuer issuer;
  Date issued_on;  // printed in the Japanese era: 令和7年12月2日
  // The issuance number (発行番号) the municipality's issuance log gives the document; printed
  // beside the QR code on every page and signed into it. At most 32 bytes.
  std::string issuance_number;
  // The certification sentence of this kind of document, printed above the date and the mayor's
  // name on the last page: "この写しは、住民票の原本と相違ないことを証明する。"
  std::string certification;
  // The person the document is about (the card holder who asked for it): written as the PDF's
  // Subject metadata, which the centre compares with the authenticated holder before printing
  // (the mis-issuance check). A name, never a resident code or a My Number.
  std::string subject;
  std::vector<Block> blocks;
};

}  // namespace jlis::municipal
