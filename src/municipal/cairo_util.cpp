#include "municipal/cairo_util.h"

#include <algorithm>

namespace jlis::municipal::internal {

PangoContextPtr make_context(cairo_t* cr) {
  PangoContextPtr context(pango_cairo_create_context(cr));
  FontOptionsPtr options(cairo_font_options_create());
  cairo_font_options_set_hint_style(options.get(), CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics(options.get(), CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_antialias(options.get(), CAIRO_ANTIALIAS_GRAY);
  pango_cairo_context_set_font_options(context.get(), options.get());
  pango_context_set_round_glyph_positions(context.get(), FALSE);
  pango_context_set_language(context.get(), pango_language_from_string("ja-jp"));
  return context;
}

LayoutPtr make_layout(PangoContext* context, std::string_view text, std::string_view family, double size_pt,
                      bool bold) {
  LayoutPtr layout(pango_layout_new(context));
  FontDescriptionPtr font(pango_font_description_new());
  pango_font_description_set_family(font.get(), std::string(family).c_str());
  pango_font_description_set_absolute_size(font.get(), size_pt * PANGO_SCALE);
  pango_font_description_set_weight(font.get(), bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
  pango_layout_set_font_description(layout.get(), font.get());
  pango_layout_set_text(layout.get(), text.data(), static_cast<int>(text.size()));
  return layout;
}

Status check_font(PangoContext* context, std::string_view family) {
  FontDescriptionPtr wanted(pango_font_description_new());
  pango_font_description_set_family(wanted.get(), std::string(family).c_str());
  pango_font_description_set_absolute_size(wanted.get(), 10 * PANGO_SCALE);
  std::unique_ptr<PangoFont, Deleter<unref_gobject>> font(pango_context_load_font(context, wanted.get()));
  if (font) {
    FontDescriptionPtr got(pango_font_describe(font.get()));
    const char* name = pango_font_description_get_family(got.get());
    if (name != nullptr && family == name) return Status::ok();
  }
  return internal_error("the font " + std::string(family) + " is not installed (Debian: fonts-noto-cjk)");
}

Status check_cairo(cairo_surface_t* surface, std::string_view what) {
  const cairo_status_t s = cairo_surface_status(surface);
  if (s == CAIRO_STATUS_SUCCESS) return Status::ok();
  return internal_error(std::string(what) + ": " + cairo_status_to_string(s));
}

Status check_cairo(cairo_t* cr, std::string_view what) {
  const cairo_status_t s = ::cairo_status(cr);
  if (s == CAIRO_STATUS_SUCCESS) return Status::ok();
  return internal_error(std::string(what) + ": " + cairo_status_to_string(s));
}

namespace {
cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

struct PngReader {
  std::string_view data;
  size_t at = 0;
};

cairo_status_t read_bytes(void* closure, unsigned char* out, unsigned int length) {
  auto* reader = static_cast<PngReader*>(closure);
  if (reader->data.size() - reader->at < length) return CAIRO_STATUS_READ_ERROR;
  std::copy_n(reader->data.data() + reader->at, length, out);
  reader->at += length;
  return CAIRO_STATUS_SUCCESS;
}
}  // namespace

SurfacePtr read_png(std::string_view png) {
  PngReader reader{png};
  return SurfacePtr(cairo_image_surface_create_from_png_stream(read_bytes, &reader));
}

Result<std::string> write_png(cairo_surface_t* surface) {
  std::string out;
  const cairo_status_t s = cairo_surface_write_to_png_stream(surface, append_bytes, &out);
  if (s != CAIRO_STATUS_SUCCESS) return internal_error(std::string("writing a PNG: ") + cairo_status_to_string(s));
  return out;
}

}  // namespace jlis::municipal::internal
