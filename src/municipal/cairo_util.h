// Internal to municipal/: cairo and pango objects owned by std::unique_ptr with their destroy
// functions, and the font stack every document and seal is drawn with.
#pragma once

#include <cairo.h>
#include <pango/pangocairo.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace jlis::municipal::internal {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const { Free(p); }
};
inline void unref_gobject(void* p) { g_object_unref(p); }
using CairoPtr = std::unique_ptr<cairo_t, Deleter<cairo_destroy>>;
using SurfacePtr = std::unique_ptr<cairo_surface_t, Deleter<cairo_surface_destroy>>;
using PatternPtr = std::unique_ptr<cairo_pattern_t, Deleter<cairo_pattern_destroy>>;
using FontOptionsPtr = std::unique_ptr<cairo_font_options_t, Deleter<cairo_font_options_destroy>>;
using LayoutPtr = std::unique_ptr<PangoLayout, Deleter<unref_gobject>>;
using PangoContextPtr = std::unique_ptr<PangoContext, Deleter<unref_gobject>>;
using FontDescriptionPtr = std::unique_ptr<PangoFontDescription, Deleter<pango_font_description_free>>;
using AttrListPtr = std::unique_ptr<PangoAttrList, Deleter<pango_attr_list_unref>>;

// The body font of the documents, as on a real 住民票 (明朝), and its bold for the seals (pdf.cpp
// emboldens the titles by a stroke rather than embed a second face).
inline constexpr std::string_view kSerifFamily = "Noto Serif CJK JP";
inline constexpr std::string_view kSansFamily = "Noto Sans CJK JP";

// A pango context for `cr` without hinting (outlines and advances independent of the scale, so
// documents and seals come out the same at any size and on any surface).
PangoContextPtr make_context(cairo_t* cr);

// A layout of `text` in `family` at `size_pt` (bold when `bold`), on `context`.
LayoutPtr make_layout(PangoContext* context, std::string_view text, std::string_view family, double size_pt,
                      bool bold = false);

// internal when fontconfig has no font of `family` (pango would silently substitute another).
Status check_font(PangoContext* context, std::string_view family);

// A failed Status (internal) when the surface or context is in an error state.
Status check_cairo(cairo_surface_t* surface, std::string_view what);
Status check_cairo(cairo_t* cr, std::string_view what);

// A PNG file's bytes of an image surface; internal when cairo fails.
Result<std::string> write_png(cairo_surface_t* surface);
// The image surface of a PNG file's bytes; a surface in an error state (cairo_surface_status) when
// they do not decode.
SurfacePtr read_png(std::string_view png);

}  // namespace jlis::municipal::internal
