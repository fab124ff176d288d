#include "municipal/pdf.h"

#include <cairo-pdf.h>
#include <qrencode.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "municipal/cairo_util.h"
#include "municipal/seal_image.h"

namespace jlis::municipal {
namespace {

using internal::CairoPtr;
using internal::LayoutPtr;
using internal::PangoContextPtr;
using internal::PatternPtr;
using internal::SurfacePtr;

constexpr double mm(double v) { return v * 72.0 / 25.4; }

// A4 portrait, in points.
constexpr double kPageWidth = mm(210), kPageHeight = mm(297);
constexpr double kMarginX = mm(18), kMarginTop = mm(13);
constexpr double kContentLeft = kMarginX, kContentWidth = kPageWidth - 2 * kMarginX;
// The content area: below the title, above the footer band (QR code, issuance number, page number).
constexpr double kContentTop = mm(34);
constexpr double kFooterTop = kPageHeight - mm(43);
constexpr double kContentBottom = kFooterTop - mm(4);
constexpr double kContentHeight = kContentBottom - kContentTop;
// The certification (sentence, date, mayor and seal) on the last page, above the footer band.
constexpr double kCertificationHeight = mm(50);

// Font sizes (pt).
// The title's stroke around its glyphs, as a share of its size: about the bold face's extra stem weight.
constexpr double kTitleEmbolden = 0.035;
constexpr double kTitleSize = 20, kBodySize = 10.5, kLabelSize = 9.5, kHeaderSize = 9.5, kFuriganaSize = 6,
                 kSmallSize = 7.5, kCertificationSize = 11, kMayorSize = 14;
constexpr double kCellPadX = mm(1.8), kCellPadY = mm(1.3), kFuriganaGap = mm(0.2);
constexpr double kMinRowHeight = mm(7.5), kBlockGap = mm(4);
constexpr double kThinLine = 0.45, kThickLine = 1.1;
constexpr double kShade = 0.075;  // the label and header cells' grey, as an alpha of black

// Where a table row sits among the rows of its block on its page: the block's outline is drawn
// thick at its top and bottom on each page.
struct RowEdges {
  bool first = false, last = false;
};

// One unit of layout: pages break between rows.
struct LayoutRow {
  double height = 0;
  std::function<void(cairo_t*, double top, RowEdges)> draw;
  int block = -1;          // which block it belongs to (-1: a gap between blocks)
  const LayoutRow* header = nullptr;  // the header row repeated above it on a new page (grid tables)
  bool is_header = false;
};

// A piece of text laid out for a cell: the text, its furigana above it.
struct CellText {
  LayoutPtr text, furigana;
  double height = 0;  // furigana, gap and text
};

double layout_height(PangoLayout* layout) {
  int w = 0, h = 0;
  pango_layout_get_size(layout, &w, &h);
  return static_cast<double>(h) / PANGO_SCALE;
}

double layout_width(PangoLayout* layout) {
  int w = 0, h = 0;
  pango_layout_get_size(layout, &w, &h);
  return static_cast<double>(w) / PANGO_SCALE;
}

class Renderer {
 public:
  Renderer(const Document& d, const VerificationCode& code) : doc_(d), code_(code) {}

  Result<std::string> run();

 private:
  Status check() const;
  LayoutPtr layout(std::string_view text, double size, bool bold = false, double width = -1,
                   PangoAlignment align = PANGO_ALIGN_LEFT) const;
  std::shared_ptr<CellText> cell_text(const RubyText& t, double width, double size,
                                      PangoAlignment align = PANGO_ALIGN_LEFT) const;
  static void draw_cell_text(cairo_t* cr, const CellText& t, double x, double top, double row_height);

  Status add_field_table(const FieldTable& table, int block);
  Status add_grid_table(const GridTable& table, int block);
  Status add_image_box(const ImageBox& image, int block);
  void add_note(const Note& note, int block);
  Status paginate();

  void draw_background(cairo_t* cr);
  void draw_title(cairo_t* cr) const;
  void draw_footer(cairo_t* cr, int page, int pages) const;
  Status draw_certification(cairo_t* cr) const;

  const Document& doc_;
  const VerificationCode& code_;
  // The PDF's bytes, written by surface_: declared first so that it outlives the surface and the
  // context holding it, whichever way run() returns.
  std::string out_;
  SurfacePtr surface_;
  CairoPtr cr_;
  PangoContextPtr context_;
  std::vector<std::unique_ptr<LayoutRow>> rows_;
  std::vector<std::unique_ptr<LayoutRow>> headers_;
  std::vector<std::vector<const LayoutRow*>> pages_;
  std::vector<SurfacePtr> images_;
  PatternPtr fine_tint_, coarse_tint_;
  PatternPtr word_tile_;  // draw_background(): the words of the background, made at the first page
  std::unique_ptr<QRcode, internal::Deleter<QRcode_free>> qr_;
};

Status Renderer::check() const {
  if (doc_.title.empty()) return invalid_argument("a document needs a title");
  if (doc_.issuance_number.empty()) return invalid_argument("a document needs an issuance number");
  if (doc_.issuer.name.empty() || doc_.issuer.mayor_title.empty())
    return invalid_argument("a document needs its municipality's name and its mayor's title");
  if (doc_.certification.empty()) return invalid_argument("a document needs its certification sentence");
  if (code_.payload.empty() || code_.payload.find('\0') != std::string::npos)
    return invalid_argument("a document needs its verification code");
  return Status::ok();
}

LayoutPtr Renderer::layout(std::string_view text, double size, bool bold, double width, PangoAlignment align) const {
  LayoutPtr l = internal::make_layout(context_.get(), text, internal::kSerifFamily, size, bold);
  if (width > 0) {
    pango_layout_set_width(l.get(), static_cast<int>(width * PANGO_SCALE));
    pango_layout_set_wrap(l.get(), PANGO_WRAP_WORD_CHAR);
  }
  pango_layout_set_alignment(l.get(), align);
  return l;
}

std::shared_ptr<CellText> Renderer::cell_text(const RubyText& t, double width, double size,
                                              PangoAlignment align) const {
  auto out = std::make_shared<CellText>();
  out->text = layout(t.text, size, false, width, align);
  out->height = layout_height(out->text.get());
  if (!t.furigana.empty()) {
    out->furigana = layout(t.furigana, kFuriganaSize, false, width, align);
    out->height += layout_height(out->furigana.get()) + kFuriganaGap;
  }
  return out;
}

// Draws `t` at x, centred vertically in the row.
void Renderer::draw_cell_text(cairo_t* cr, const CellText& t, double x, double top, double row_height) {
  double y = top + (row_height - t.height) / 2;
  cairo_set_source_rgb(cr, 0, 0, 0);
  if (t.furigana) {
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, t.furigana.get());
    y += layout_height(t.furigana.get()) + kFuriganaGap;
  }
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, t.text.get());
}

// The lines of a table row: thin between cells, thick on the table's outline.
void draw_row_box(cairo_t* cr, double top, double height, const std::vector<double>& xs, RowEdges edges) {
  const double left = xs.front(), right = xs.back(), bottom = top + height;
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_SQUARE);
  cairo_set_line_width(cr, kThinLine);
  for (size_t i = 1; i + 1 < xs.size(); ++i) {
    cairo_move_to(cr, xs[i], top);
    cairo_line_to(cr, xs[i], bottom);
  }
  if (!edges.first) {
    cairo_move_to(cr, left, top);
    cairo_line_to(cr, right, top);
  }
  if (!edges.last) {
    cairo_move_to(cr, left, bottom);
    cairo_line_to(cr, right, bottom);
  }
  cairo_stroke(cr);
  cairo_set_line_width(cr, kThickLine);
  cairo_move_to(cr, left, top);
  cairo_line_to(cr, left, bottom);
  cairo_move_to(cr, right, top);
  cairo_line_to(cr, right, bottom);
  if (edges.first) {
    cairo_move_to(cr, left, top);
    cairo_line_to(cr, right, top);
  }
  if (edges.last) {
    cairo_move_to(cr, left, bottom);
    cairo_line_to(cr, right, bottom);
  }
  cairo_stroke(cr);
}

void shade(cairo_t* cr, double x, double y, double w, double h) {
  cairo_set_source_rgba(cr, 0, 0, 0, kShade);
  cairo_rectangle(cr, x, y, w, h);
  cairo_fill(cr);
}

Status Renderer::add_field_table(const FieldTable& table, int block) {
  if (table.label_width_mm < 10 || table.label_width_mm > 100)
    return invalid_argument("a field table's label column is 10 to 100 mm wide");
  const double label_w = mm(table.label_width_mm);
  const double value_w = kContentWidth - label_w;
  for (const auto& field : table.rows) {
    auto label = cell_text(RubyText(field.label), label_w - 2 * kCellPadX, kLabelSize, PANGO_ALIGN_CENTER);
    auto value = cell_text(field.value, value_w - 2 * kCellPadX, kBodySize);
    auto row = std::make_unique<LayoutRow>();
    row->block = block;
    row->height = std::max({kMinRowHeight, label->height + 2 * kCellPadY, value->height + 2 * kCellPadY});
    row->draw = [label, value, label_w, height = row->height](cairo_t* cr, double top, RowEdges edges) {
      shade(cr, kContentLeft, top, label_w, height);
      draw_cell_text(cr, *label, kContentLeft + kCellPadX, top, height);
      draw_cell_text(cr, *value, kContentLeft + label_w + kCellPadX, top, height);
      draw_row_box(cr, top, height, {kContentLeft, kContentLeft + label_w, kContentLeft + kContentWidth}, edges);
    };
    rows_.push_back(std::move(row));
  }
  return Status::ok();
}

Status Renderer::add_grid_table(const GridTable& table, int block) {
  const size_t n = table.headers.size();
  if (n == 0) return invalid_argument("a grid table needs column headers");
  if (!table.column_weights.empty() && table.column_weights.size() != n)
    return invalid_argument("a grid table needs one column weight per header");
  std::vector<double> weights = table.column_weights;
  if (weights.empty()) weights.assign(n, 1);
  double total = 0;
  for (double w : weights) {
    if (!(w > 0) || !std::isfinite(w)) return invalid_argument("a grid table's column weights must be positive");
    total += w;
  }
  std::vector<double> xs{kContentLeft};
  for (double w : weights) xs.push_back(xs.back() + kContentWidth * w / total);
  xs.back() = kContentLeft + kContentWidth;

  auto header = std::make_unique<LayoutRow>();
  header->block = block;
  header->is_header = true;
  std::vector<std::shared_ptr<CellText>> header_cells;
  for (size_t c = 0; c < n; ++c) {
    header_cells.push_back(
        cell_text(RubyText(table.headers[c]), xs[c + 1] - xs[c] - 2 * kCellPadX, kHeaderSize, PANGO_ALIGN_CENTER));
    header->height = std::max(header->height, header_cells.back()->height + 2 * kCellPadY);
  }
  header->height = std::max(header->height, mm(6.5));
  header->draw = [header_cells, xs, height = header->height](cairo_t* cr, double top, RowEdges edges) {
    shade(cr, xs.front(), top, xs.back() - xs.front(), height);
    for (size_t c = 0; c < header_cells.size(); ++c) draw_cell_text(cr, *header_cells[c], xs[c] + kCellPadX, top, height);
    draw_row_box(cr, top, height, xs, edges);
  };
  const LayoutRow* header_ptr = header.get();
  rows_.push_back(std::make_unique<LayoutRow>(*header));  // the header in its place at the table's top
  headers_.push_back(std::move(header));

  for (const auto& cells : table.rows) {
    if (cells.size() != n) return invalid_argument("a grid table's rows need one cell per header");
    auto row = std::make_unique<LayoutRow>();
    row->block = block;
    row->header = header_ptr;
    std::vector<std::shared_ptr<CellText>> texts;
    for (size_t c = 0; c < n; ++c) {
      texts.push_back(cell_text(cells[c], xs[c + 1] - xs[c] - 2 * kCellPadX, kBodySize));
      row->height = std::max(row->height, texts.back()->height + 2 * kCellPadY);
    }
    row->height = std::max(row->height, kMinRowHeight);
    row->draw = [texts, xs, height = row->height](cairo_t* cr, double top, RowEdges edges) {
      for (size_t c = 0; c < texts.size(); ++c) draw_cell_text(cr, *texts[c], xs[c] + kCellPadX, top, height);
      draw_row_box(cr, top, height, xs, edges);
    };
    rows_.push_back(std::move(row));
  }
  return Status::ok();
}

Status Renderer::add_image_box(const ImageBox& image, int block) {
  if (image.width_mm < 5 || image.width_mm > 150 || image.height_mm < 5 || image.height_mm > 150)
    return invalid_argument("an image box's image is 5 to 150 mm in each direction");
  SurfacePtr surface = internal::read_png(image.png);
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS || cairo_image_surface_get_width(surface.get()) <= 0)
    return invalid_argument("an image box's image is not a readable PNG");
  cairo_surface_t* picture = surface.get();
  images_.push_back(std::move(surface));

  const double label_w = mm(36);
  auto caption = cell_text(RubyText(image.caption), label_w - 2 * kCellPadX, kLabelSize, PANGO_ALIGN_CENTER);
  const double w = mm(image.width_mm), h = mm(image.height_mm);
  auto row = std::make_unique<LayoutRow>();
  row->block = block;
  row->height = std::max(h + 2 * mm(4), caption->height + 2 * kCellPadY);
  row->draw = [caption, picture, label_w, w, h, height = row->height](cairo_t* cr, double top, RowEdges edges) {
    shade(cr, kContentLeft, top, label_w, height);
    draw_cell_text(cr, *caption, kContentLeft + kCellPadX, top, height);
    // The impression in a square frame, centred in the value cell.
    const double frame = std::max(w, h) + mm(4);
    const double fx = kContentLeft + label_w + mm(8);
    const double fy = top + (height - frame) / 2;
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, kThinLine);
    cairo_rectangle(cr, fx, fy, frame, frame);
    cairo_stroke(cr);
    cairo_save(cr);
    cairo_translate(cr, fx + (frame - w) / 2, fy + (frame - h) / 2);
    cairo_scale(cr, w / cairo_image_surface_get_width(picture), h / cairo_image_surface_get_height(picture));
    cairo_set_source_surface(cr, picture, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    draw_row_box(cr, top, height, {kContentLeft, kContentLeft + label_w, kContentLeft + kContentWidth}, edges);
  };
  rows_.push_back(std::move(row));
  return Status::ok();
}

void Renderer::add_note(const Note& note, int block) {
  const PangoAlignment align = note.align == Note::Align::center  ? PANGO_ALIGN_CENTER
                               : note.align == Note::Align::right ? PANGO_ALIGN_RIGHT
                                                                  : PANGO_ALIGN_LEFT;
  auto text = cell_text(RubyText(note.text), kContentWidth - 2 * kCellPadX, kBodySize, align);
  auto row = std::make_unique<LayoutRow>();
  row->block = block;
  row->height = text->height + 2 * kCellPadY;
  row->draw = [text, height = row->height](cairo_t* cr, double top, RowEdges) {
    draw_cell_text(cr, *text, kContentLeft + kCellPadX, top, height);
  };
  rows_.push_back(std::move(row));
}

// Fills pages_ with the rows: each page holds what fits in the content area; a gap never starts a
// page; a grid row that starts a page gets its table's header above it; a header never ends a page.
Status Renderer::paginate() {
  pages_.assign(1, {});
  double used = 0;
  const auto fits = [&](double h) { return used + h <= kContentHeight + 0.01; };
  for (size_t i = 0; i < rows_.size(); ++i) {
    const LayoutRow* row = rows_[i].get();
    if (row->block < 0) {  // a gap between blocks (drawn as kBlockGap): none at a page's top
      if (!pages_.back().empty()) used += row->height;
      continue;
    }
    double need = row->height;
    if (row->is_header && i + 1 < rows_.size() && rows_[i + 1]->block == row->block) need += rows_[i + 1]->height;
    if (!fits(need) && !pages_.back().empty()) {
      pages_.emplace_back();
      used = 0;
      if (row->header != nullptr) {
        pages_.back().push_back(row->header);
        used += row->header->height;
      }
    }
    if (!fits(row->height)) return invalid_argument("a row of the document is too tall for a page");
    pages_.back().push_back(row);
    used += row->height;
  }
  // The certification goes below the last row: when it does not fit, the last row (a grid row
  // with its header) goes with it to a new page, so that it never stands alone; unless that row
  // is all its page holds (moving it would not make room) or is too tall to share a page with it.
  const auto height_of = [](const std::vector<const LayoutRow*>& rows) {
    double h = 0;
    for (size_t k = 0; k < rows.size(); ++k) {
      if (k > 0 && rows[k - 1]->block != rows[k]->block) h += kBlockGap;
      h += rows[k]->height;
    }
    return h;
  };
  auto& last = pages_.back();
  if (height_of(last) + kCertificationHeight > kContentHeight + 0.01) {
    std::vector<const LayoutRow*> moved;
    std::vector<const LayoutRow*> rest = last;
    if (!rest.empty() && !rest.back()->is_header) {
      const LayoutRow* r = rest.back();
      rest.pop_back();
      while (!rest.empty() && rest.back()->is_header) rest.pop_back();  // no header without its rows
      if (r->header != nullptr) moved.push_back(r->header);
      moved.push_back(r);
    }
    const bool rest_has_content =
        std::any_of(rest.begin(), rest.end(), [](const LayoutRow* r) { return !r->is_header; });
    if (!rest_has_content || height_of(moved) + kCertificationHeight > kContentHeight + 0.01) {
      moved.clear();
    } else {
      last = std::move(rest);
    }
    pages_.push_back(std::move(moved));
  }
  return Status::ok();
}

// The security background (複写牽制地紋): fine dots everywhere, the word 「複写」 in coarse dots of
// the same coverage (twice the pitch, twice the radius), so the sheet looks evenly tinted and a
// copier, which drops the fine dots, shows the word.
//
// The words stand in lines `step_y` apart, `step_x` apart along a line, every other line shifted
// by half a step: a grid that repeats every step_x across and every two lines down. So the words
// are drawn once, into one tile of that period (word_tile_), and the PDF repeats the tile (a tiling
// pattern): the word's outlines are written a few times a document instead of some forty times a
// page (they were most of a page's content stream, and of the time to print and compress it). The
// steps are whole millimetres, so that the coarse dots (1 mm across, 2 mm down between rows of the
// same offset) continue across the tile's edges.
void Renderer::draw_background(cairo_t* cr) {
  const double x0 = mm(7), y0 = mm(7), w = kPageWidth - 2 * mm(7), h = kPageHeight - 2 * mm(7);
  auto word = internal::make_layout(context_.get(), "複写", internal::kSansFamily, 46, /*bold=*/true);
  const double word_w = layout_width(word.get()), word_h = layout_height(word.get());
  const double step_x = std::ceil((word_w + mm(22)) / mm(1)) * mm(1);
  const double step_y = std::ceil((word_h + mm(16)) / mm(1)) * mm(1);
  if (!word_tile_) {
    const cairo_rectangle_t extents{0, 0, step_x, 2 * step_y};
    SurfacePtr recording(cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents));
    CairoPtr tile(cairo_create(recording.get()));
    cairo_rectangle(tile.get(), 0, 0, step_x, 2 * step_y);
    cairo_clip(tile.get());
    cairo_new_path(tile.get());
    // The word of the even line at (0, 0), of the odd line at (step_x / 2, step_y), and each copy
    // of them in a neighbouring tile that reaches into this one (ink may overhang the layout's box).
    const double overhang = mm(3);
    for (const auto& [wx, wy] : {std::pair{0.0, 0.0}, std::pair{step_x / 2, step_y}}) {
      for (int i = -1; i <= 1; ++i) {
        for (int j = -1; j <= 1; ++j) {
          const double x = wx + i * step_x, y = wy + j * 2 * step_y;
          if (x + word_w + overhang < 0 || x - overhang > step_x || y + word_h + overhang < 0 ||
              y - overhang > 2 * step_y)
            continue;
          cairo_move_to(tile.get(), x, y);
          pango_cairo_layout_path(tile.get(), word.get());
        }
      }
    }
    cairo_clip(tile.get());
    cairo_set_source_rgb(tile.get(), 1, 1, 1);
    cairo_paint(tile.get());
    cairo_set_source(tile.get(), coarse_tint_.get());
    cairo_paint(tile.get());
    word_tile_.reset(cairo_pattern_create_for_surface(recording.get()));
    cairo_pattern_set_extend(word_tile_.get(), CAIRO_EXTEND_REPEAT);
    // The tile's origin is the first line's first word, half a step left of the sheet's edge.
    cairo_matrix_t at;
    cairo_matrix_init_translate(&at, -(x0 - step_x / 2), -(y0 + mm(8)));
    cairo_pattern_set_matrix(word_tile_.get(), &at);
  }
  cairo_save(cr);
  cairo_rectangle(cr, x0, y0, w, h);
  cairo_set_source(cr, fine_tint_.get());
  cairo_fill_preserve(cr);
  cairo_set_source(cr, word_tile_.get());
  cairo_fill(cr);
  cairo_restore(cr);
}

// The title in the body's regular face, made bold by stroking its glyphs' outlines (as printers
// embolden a face they lack). Not the bold face: each face a PDF embeds costs cairo a copy and a
// parse of the whole font's CFF table (some 25 MB for Noto Serif CJK, twice a document), and the
// bold one served only the title's few glyphs: a quarter of the time a one-page document took.
// The text stays the regular face's text (pdftotext reads it); the outline is drawing only.
void Renderer::draw_title(cairo_t* cr) const {
  auto title = layout(doc_.title, kTitleSize);
  internal::AttrListPtr attrs(pango_attr_list_new());
  // Spaced out, as printed forms set their titles.
  pango_attr_list_insert(attrs.get(),
                         pango_attr_letter_spacing_new(static_cast<int>(kTitleSize * 0.35 * PANGO_SCALE)));
  pango_layout_set_attributes(title.get(), attrs.get());
  const double w = layout_width(title.get());
  const double x = (kPageWidth - w) / 2, y = kMarginTop + mm(3);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, title.get());
  cairo_move_to(cr, x, y);
  pango_cairo_layout_path(cr, title.get());
  cairo_set_line_width(cr, kTitleSize * kTitleEmbolden);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke(cr);
}

// The QR code with the issuance number beside it, and the page number.
void Renderer::draw_footer(cairo_t* cr, int page, int pages) const {
  const QRcode* qr = qr_.get();
  const int modules = qr->width;
  constexpr int kQuiet = 4;
  const double side = mm(33);
  const double module = side / (modules + 2 * kQuiet);
  const double left = kContentLeft, top = kPageHeight - mm(12) - side;
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_rectangle(cr, left, top, side, side);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  for (int y = 0; y < modules; ++y) {
    for (int x = 0; x < modules;) {
      if ((qr->data[y * modules + x] & 1) == 0) {
        ++x;
        continue;
      }
      int run = x;
      while (run < modules && (qr->data[y * modules + run] & 1) != 0) ++run;
      cairo_rectangle(cr, left + (kQuiet + x) * module, top + (kQuiet + y) * module, (run - x) * module, module);
      x = run;
    }
  }
  cairo_fill(cr);

  const double text_x = left + side + mm(3);
  auto label = layout("発行番号", kSmallSize);
  auto number = layout(doc_.issuance_number, kBodySize);
  auto note = layout(
      "この証明書の内容は、左の二次元コードを証明書交付センターの確認ページで読み取ると確認できます。"
      "地紋は複写すると「複写」の文字が現れます。",
      kSmallSize, false, mm(95));
  cairo_move_to(cr, text_x, top + side - mm(20));
  pango_cairo_show_layout(cr, label.get());
  cairo_move_to(cr, text_x, top + side - mm(16.5));
  pango_cairo_show_layout(cr, number.get());
  cairo_move_to(cr, text_x, top + side - layout_height(note.get()));
  pango_cairo_show_layout(cr, note.get());

  auto page_number = layout(std::to_string(page) + "/" + std::to_string(pages), kBodySize);
  cairo_move_to(cr, kContentLeft + kContentWidth - layout_width(page_number.get()),
                top + side - layout_height(page_number.get()));
  pango_cairo_show_layout(cr, page_number.get());
}

// The certification sentence, the date of issue and the mayor with the official seal over the
// end of the name, above the footer band.
Status Renderer::draw_certification(cairo_t* cr) const {
  JLIS_ASSIGN_OR_RETURN(std::string date, format_japanese(doc_.issued_on));
  const double top = kContentBottom - kCertificationHeight + mm(4);
  auto sentence = layout(doc_.certification, kCertificationSize, false, kContentWidth - mm(8));
  auto issued = layout(date, kCertificationSize);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_move_to(cr, kContentLeft + mm(4), top);
  pango_cairo_show_layout(cr, sentence.get());
  cairo_move_to(cr, kContentLeft + mm(8), top + layout_height(sentence.get()) + mm(4));
  pango_cairo_show_layout(cr, issued.get());

  auto mayor = layout(doc_.issuer.mayor_title + "\u3000\u3000" + doc_.issuer.mayor_name, kMayorSize);
  const double seal = mm(21);
  const double mayor_w = layout_width(mayor.get()), mayor_h = layout_height(mayor.get());
  // The seal's left edge crosses the middle of the name's last character.
  const double char_w = kMayorSize, overlap = 0.55 * char_w;
  const double mayor_right = kContentLeft + kContentWidth - mm(3) - seal + overlap;
  const double mayor_top = kContentBottom - mm(4) - seal / 2 - mayor_h / 2;
  cairo_move_to(cr, mayor_right - mayor_w, mayor_top);
  pango_cairo_show_layout(cr, mayor.get());

  // The seal stamped over the name's last character, as a clerk stamps it; multiplied so the name
  // shows through the ink.
  const std::string seal_text =
      doc_.issuer.seal_text.empty() ? doc_.issuer.mayor_title + "之印" : doc_.issuer.seal_text;
  cairo_save(cr);
  cairo_set_operator(cr, CAIRO_OPERATOR_MULTIPLY);
  Status drawn = draw_seal(cr, official_seal(seal_text), mayor_right - overlap, mayor_top + mayor_h / 2 - seal / 2,
                           seal);
  cairo_restore(cr);
  return drawn;
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// A tile of dots on a square grid of `pitch` (every other row offset by half a pitch), as a
// repeating pattern: in the PDF, one small tiling pattern instead of a hundred thousand circles.
PatternPtr dot_tint(double pitch, double radius, int per_tile) {
  const double tile = pitch * per_tile;
  const cairo_rectangle_t extents{0, 0, tile, tile};  // the pattern's repeat unit
  SurfacePtr recording(cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents));
  {
    CairoPtr cr(cairo_create(recording.get()));
    cairo_set_source_rgb(cr.get(), 0.50, 0.62, 0.74);
    for (int row = 0; row < per_tile; ++row) {
      for (int col = 0; col < per_tile; ++col) {
        const double cx = (col + (row % 2 == 0 ? 0.25 : 0.75)) * pitch, cy = (row + 0.5) * pitch;
        cairo_new_sub_path(cr.get());
        cairo_arc(cr.get(), cx, cy, radius, 0, 2 * M_PI);
      }
    }
    cairo_fill(cr.get());
  }
  PatternPtr pattern(cairo_pattern_create_for_surface(recording.get()));
  cairo_pattern_set_extend(pattern.get(), CAIRO_EXTEND_REPEAT);
  return pattern;
}

Result<std::string> Renderer::run() {
  JLIS_RETURN_IF_ERROR(check());
  surface_.reset(cairo_pdf_surface_create_for_stream(append_bytes, &out_, kPageWidth, kPageHeight));
  cairo_surface_t* surface = surface_.get();
  JLIS_RETURN_IF_ERROR(internal::check_cairo(surface, "creating the PDF"));
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, doc_.title.c_str());
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_SUBJECT, doc_.subject.c_str());
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, doc_.issuer.name.c_str());
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_KEYWORDS, doc_.issuance_number.c_str());
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "OpenJLIS");
  const std::string created = doc_.issued_on.to_iso() + "T00:00:00+09:00";
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, created.c_str());
  cr_.reset(cairo_create(surface));
  context_ = internal::make_context(cr_.get());
  JLIS_RETURN_IF_ERROR(internal::check_font(context_.get(), internal::kSerifFamily));
  // Level M: a printed sheet survives a crease or a smudge over 15 % of the code.
  qr_.reset(QRcode_encodeString(code_.payload.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, /*casesensitive=*/1));
  if (!qr_) return invalid_argument("the verification code does not fit a QR code");
  fine_tint_ = dot_tint(mm(0.5), mm(0.11), 8);
  coarse_tint_ = dot_tint(mm(1.0), mm(0.22), 4);

  for (size_t i = 0; i < doc_.blocks.size(); ++i) {
    const int block = static_cast<int>(i);
    if (i > 0) {
      auto gap = std::make_unique<LayoutRow>();
      gap->height = kBlockGap;
      rows_.push_back(std::move(gap));
    }
    const Block& b = doc_.blocks[i];
    if (const auto* f = std::get_if<FieldTable>(&b)) {
      JLIS_RETURN_IF_ERROR(add_field_table(*f, block));
    } else if (const auto* g = std::get_if<GridTable>(&b)) {
      JLIS_RETURN_IF_ERROR(add_grid_table(*g, block));
    } else if (const auto* im = std::get_if<ImageBox>(&b)) {
      JLIS_RETURN_IF_ERROR(add_image_box(*im, block));
    } else if (const auto* n = std::get_if<Note>(&b)) {
      add_note(*n, block);
    }
  }
  JLIS_RETURN_IF_ERROR(paginate());

  cairo_t* cr = cr_.get();
  const int pages = static_cast<int>(pages_.size());
  for (int p = 0; p < pages; ++p) {
    draw_background(cr);
    draw_title(cr);
    double top = kContentTop;
    const auto& rows = pages_[static_cast<size_t>(p)];
    for (size_t k = 0; k < rows.size(); ++k) {
      const LayoutRow* row = rows[k];
      if (k > 0 && rows[k - 1]->block != row->block) top += kBlockGap;
      RowEdges edges{k == 0 || rows[k - 1]->block != row->block, k + 1 == rows.size() || rows[k + 1]->block != row->block};
      cairo_save(cr);
      row->draw(cr, top, edges);
      cairo_restore(cr);
      top += row->height;
    }
    if (p + 1 == pages) JLIS_RETURN_IF_ERROR(draw_certification(cr));
    draw_footer(cr, p + 1, pages);
    cairo_show_page(cr);
  }
  JLIS_RETURN_IF_ERROR(internal::check_cairo(cr, "drawing the PDF"));
  cairo_surface_finish(surface);
  JLIS_RETURN_IF_ERROR(internal::check_cairo(surface, "writing the PDF"));
  return std::move(out_);
}

}  // namespace

Result<std::string> render_pdf(const Document& document, const VerificationCode& code) {
  return Renderer(document, code).run();
}

}  // namespace jlis::municipal
