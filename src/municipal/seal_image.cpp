#include "municipal/seal_image.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/digest.h"
#include "municipal/cairo_util.h"

namespace jlis::municipal {
namespace {

using internal::CairoPtr;
using internal::SurfacePtr;

constexpr size_t kMaxCharacters = 12;
// 朱肉 (vermilion seal ink).
constexpr double kInkR = 0.83, kInkG = 0.12, kInkB = 0.10;
// The seal is drawn in a 1000 × 1000 square, scaled to the size asked for.
constexpr double kUnit = 1000;

// The characters of `text`, a variation selector or a combining kana mark kept with the
// character before it.
Result<std::vector<std::string>> characters(std::string_view text) {
  if (text.empty()) return invalid_argument("a seal needs at least one character");
  if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr) == FALSE)
    return invalid_argument("the seal's text is not UTF-8");
  std::vector<std::string> out;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  while (p < end) {
    const char* next = g_utf8_next_char(p);
    const gunichar c = g_utf8_get_char(p);
    const bool joins = (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xE0100 && c <= 0xE01EF) || c == 0x3099 || c == 0x309A;
    if (joins && !out.empty()) {
      out.back().append(p, next);
    } else {
      out.emplace_back(p, next);
    }
    p = next;
  }
  if (out.size() > kMaxCharacters) return invalid_argument("a seal holds at most 12 characters");
  return out;
}

// How many characters each column holds, the right-most column first.
std::vector<size_t> columns(size_t n, Seal::Shape shape) {
  size_t count = 1;
  if (shape == Seal::Shape::square) {
    while (count * count < n) ++count;          // ceil(sqrt(n))
    if (n <= 2) count = 1;                      // one or two characters: one above the other
  }
  std::vector<size_t> out(count, n / count);
  for (size_t i = 0; i < n % count; ++i) ++out[i];
  return out;
}

// A small deterministic generator (splitmix64).
class Wear {
 public:
  explicit Wear(uint64_t seed) : state_(seed) {}
  double next() {  // in [0, 1)
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) / 9007199254740992.0;
  }

 private:
  uint64_t state_;
};

void rounded_rectangle(cairo_t* cr, double x, double y, double w, double h, double r) {
  cairo_new_sub_path(cr);
  cairo_arc(cr, x + w - r, y + r, r, -M_PI / 2, 0);
  cairo_arc(cr, x + w - r, y + h - r, r, 0, M_PI / 2);
  cairo_arc(cr, x + r, y + h - r, r, M_PI / 2, M_PI);
  cairo_arc(cr, x + r, y + r, r, M_PI, 3 * M_PI / 2);
  cairo_close_path(cr);
}

// Adds the outline of `character` to cr's path, filling the cell (x, y, w, h) as an engraver
// does: stretched to the cell, but never by more than 1.7 times more in one direction than in the
// other (一 stays a stroke, not a block), centred.
void add_character(cairo_t* cr, PangoContext* context, const std::string& character, double x, double y,
                   double w, double h) {
  auto layout = internal::make_layout(context, character, internal::kSerifFamily, 100, /*bold=*/true);
  PangoRectangle ink{}, logical{};
  pango_layout_get_extents(layout.get(), &ink, &logical);
  const double iw = static_cast<double>(ink.width) / PANGO_SCALE;
  const double ih = static_cast<double>(ink.height) / PANGO_SCALE;
  if (iw <= 0 || ih <= 0) return;  // a space: nothing to engrave
  double sx = w / iw, sy = h / ih;
  constexpr double kMaxStretch = 1.7;
  sx = std::min(sx, sy * kMaxStretch);
  sy = std::min(sy, sx * kMaxStretch);
  cairo_save(cr);
  cairo_translate(cr, x + (w - iw * sx) / 2, y + (h - ih * sy) / 2);
  cairo_scale(cr, sx, sy);
  cairo_translate(cr, -static_cast<double>(ink.x) / PANGO_SCALE, -static_cast<double>(ink.y) / PANGO_SCALE);
  cairo_move_to(cr, 0, 0);
  pango_cairo_layout_path(cr, layout.get());
  cairo_restore(cr);
}

}  // namespace

Seal official_seal(std::string_view text) { return Seal{std::string(text), Seal::Shape::square}; }

Seal personal_seal(std::string_view surname) {
  const glong n = g_utf8_validate(surname.data(), static_cast<gssize>(surname.size()), nullptr) == TRUE
                      ? g_utf8_strlen(surname.data(), static_cast<gssize>(surname.size()))
                      : 0;
  return Seal{std::string(surname), n <= 2 ? Seal::Shape::round : Seal::Shape::square};
}

Status draw_seal(cairo_t* cr, const Seal& seal, double x, double y, double size) {
  JLIS_ASSIGN_OR_RETURN(auto chars, characters(seal.text));
  const bool round = seal.shape == Seal::Shape::round;
  if (round && chars.size() > 3) return invalid_argument("a round seal holds at most 3 characters");

  auto context = internal::make_context(cr);
  JLIS_RETURN_IF_ERROR(internal::check_font(context.get(), internal::kSerifFamily));
  cairo_save(cr);
  cairo_new_path(cr);
  cairo_translate(cr, x, y);
  cairo_scale(cr, size / kUnit, size / kUnit);

  // Wear: small spots where the ink did not take, cut out of everything that follows.
  Wear wear(fnv1a(seal.text, round ? 17 : 29));
  cairo_rectangle(cr, 0, 0, kUnit, kUnit);
  for (int i = 0; i < 70; ++i) {
    const double cx = wear.next() * kUnit, cy = wear.next() * kUnit;
    const double r = 3 + wear.next() * wear.next() * 13;
    cairo_new_sub_path(cr);
    cairo_arc(cr, cx, cy, r, 0, 2 * M_PI);
  }
  cairo_set_fill_rule(cr, CAIRO_FILL_RULE_EVEN_ODD);
  cairo_clip(cr);
  cairo_set_source_rgb(cr, kInkR, kInkG, kInkB);

  // The border: a thick ring, or a square frame with slightly rounded corners.
  if (round) {
    cairo_arc(cr, kUnit / 2, kUnit / 2, 490, 0, 2 * M_PI);
    cairo_new_sub_path(cr);
    cairo_arc(cr, kUnit / 2, kUnit / 2, 428, 0, 2 * M_PI);
  } else {
    rounded_rectangle(cr, 12, 12, kUnit - 24, kUnit - 24, 36);
    rounded_rectangle(cr, 80, 80, kUnit - 160, kUnit - 160, 10);
  }
  cairo_fill(cr);

  // The characters.
  cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
  const double gap = round ? 10 : 22;
  if (round) {
    const size_t n = chars.size();
    const double height = n == 1 ? 560 : n == 2 ? 690 : 720;
    const double width = n == 1 ? 560 : n == 2 ? 470 : 380;
    const double cell = height / static_cast<double>(n);
    for (size_t i = 0; i < n; ++i) {
      const double top = (kUnit - height) / 2 + cell * static_cast<double>(i);
      add_character(cr, context.get(), chars[i], (kUnit - width) / 2, top + gap / 2, width, cell - gap);
    }
  } else {
    const std::vector<size_t> per_column = columns(chars.size(), seal.shape);
    const double inner = 112, span = kUnit - 2 * inner;
    const double column_width = span / static_cast<double>(per_column.size());
    size_t next = 0;
    for (size_t c = 0; c < per_column.size(); ++c) {
      const double left = kUnit - inner - column_width * static_cast<double>(c + 1);  // right to left
      const double cell = span / static_cast<double>(per_column[c]);
      for (size_t r = 0; r < per_column[c]; ++r, ++next) {
        add_character(cr, context.get(), chars[next], left + gap / 2, inner + cell * static_cast<double>(r) + gap / 2,
                      column_width - gap, cell - gap);
      }
    }
  }
  // Engraved characters are bolder than type: the outline is stroked as well as filled.
  cairo_fill_preserve(cr);
  cairo_set_line_width(cr, 14);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke(cr);
  cairo_restore(cr);
  return internal::check_cairo(cr, "drawing a seal");
}

Result<std::string> seal_png(const Seal& seal, int size_px) {
  if (size_px < 16 || size_px > 4096) return invalid_argument("a seal image is 16 to 4096 pixels wide");
  SurfacePtr surface(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, size_px, size_px));
  JLIS_RETURN_IF_ERROR(internal::check_cairo(surface.get(), "creating a seal image"));
  CairoPtr cr(cairo_create(surface.get()));
  JLIS_RETURN_IF_ERROR(draw_seal(cr.get(), seal, 0, 0, size_px));
  cairo_surface_flush(surface.get());
  return internal::write_png(surface.get());
}

}  // namespace jlis::municipal
