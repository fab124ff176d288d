// Seal impressions (印影): the mayor's official seal (職印) that certifies every document, and the
// seal a resident registers (印鑑登録), generated for simulated residents from their surname.
//
// Both are drawn in vermilion seal ink with the documents' font stack (Noto Serif CJK JP, bold, each
// character stretched to fill its cell as seal engravers do), with a thick border and a little
// deterministic wear: the same seal always gives the same image, at any size, as vector paths
// into a cairo context (for the PDF) or as a PNG (for the seal register and the 印影 box of
// 印鑑登録証明書). Neither embeds a font: the characters are outlines.
#pragma once

#include <cairo.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace jlis::municipal {

struct Seal {
  enum class Shape {
    round,   // a ring, the characters in one column top to bottom (個人の印鑑, 1–3 characters)
    square,  // a square frame, the characters in columns read top to bottom, right to left (職印)
  };
  std::string text;  // UTF-8, 1 to 12 characters
  Shape shape = Shape::square;
};

// The mayor's official seal: square, `text` such as "千代田区長之印" in columns (3 characters a
// column at most: 千代田 | 区長 | 之印).
Seal official_seal(std::string_view text);

// A resident's seal from their surname: round for 1 or 2 characters (山田 one above the other in a
// ring), square for 3 or more (佐々木 in two columns).
Seal personal_seal(std::string_view surname);

// Draws `seal` into `cr` in the square whose top-left corner is (x, y) and side `size`, in the
// current user space, with cr's current operator (a document draws it with
// CAIRO_OPERATOR_MULTIPLY so that the name it overlaps stays readable, as ink on ink does).
// Leaves cr's state as it found it (its current path is cleared). invalid_argument when the text
// is empty, is not UTF-8 or has more than 12 characters; internal when cairo or pango fails.
Status draw_seal(cairo_t* cr, const Seal& seal, double x, double y, double size);

// The seal as a PNG of `size_px` × `size_px` pixels (8-bit RGBA, transparent outside the ink), the
// same bytes for the same seal and size. invalid_argument for a size outside 16..4096 and as
// draw_seal.
Result<std::string> seal_png(const Seal& seal, int size_px);

}  // namespace jlis::municipal
