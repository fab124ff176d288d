// Seal impressions (municipal/seal_image.h).
#include "municipal/seal_image.h"

#include <gtest/gtest.h>

#include <memory>


namespace jlis::municipal {
namespace {

// Width, height, bit depth and colour type from a PNG's signature and IHDR chunk.
struct PngHeader {
  uint32_t width = 0, height = 0;
  int depth = 0, colour = 0;
};
bool read_png_header(const std::string& png, PngHeader& out) {
  static const std::string kSignature("\x89PNG\r\n\x1a\n", 8);
  if (png.size() < 33 || png.compare(0, 8, kSignature) != 0 || png.compare(12, 4, "IHDR") != 0) return false;
  auto u32 = [&](size_t at) {
    return (uint32_t{static_cast<unsigned char>(png[at])} << 24) | (uint32_t{static_cast<unsigned char>(png[at + 1])} << 16) |
           (uint32_t{static_cast<unsigned char>(png[at + 2])} << 8) | uint32_t{static_cast<unsigned char>(png[at + 3])};
  };
  out = {u32(16), u32(20), png[24], png[25]};
  return png.compare(png.size() - 8, 4, "IEND") == 0;
}

// The share of pixels of a PNG that carry ink (alpha above half), and of those, how many are red.
struct Ink {
  double covered = 0, red = 0;
};
Ink ink_of(const std::string& png) {
  struct Reader {
    const std::string& data;
    size_t at = 0;
  } reader{png};
  auto read = [](void* closure, unsigned char* out, unsigned int length) -> cairo_status_t {
    auto* r = static_cast<Reader*>(closure);
    if (r->data.size() - r->at < length) return CAIRO_STATUS_READ_ERROR;
    std::copy_n(r->data.data() + r->at, length, out);
    r->at += length;
    return CAIRO_STATUS_SUCCESS;
  };
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      cairo_image_surface_create_from_png_stream(read, &reader), cairo_surface_destroy);
  const int w = cairo_image_surface_get_width(surface.get()), h = cairo_image_surface_get_height(surface.get());
  const int stride = cairo_image_surface_get_stride(surface.get());
  const unsigned char* data = cairo_image_surface_get_data(surface.get());
  size_t covered = 0, red = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const uint32_t px = *reinterpret_cast<const uint32_t*>(data + y * stride + 4 * x);  // premultiplied ARGB
      const uint32_t a = px >> 24, r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
      if (a < 128) continue;
      ++covered;
      if (r > 2 * g && r > 2 * b) ++red;
    }
  }
  const double total = static_cast<double>(w) * h;
  return {covered / total, covered == 0 ? 0 : static_cast<double>(red) / static_cast<double>(covered)};
}

TEST(SealImage, APngOfTheAskedSizeWithAlpha) {
  for (int size : {16, 120, 600}) {
    auto png = seal_png(personal_seal("山田"), size);
    ASSERT_TRUE(png.ok()) << png.status().to_string();
    PngHeader header;
    ASSERT_TRUE(read_png_header(*png, header)) << size;
    EXPECT_EQ(header.width, static_cast<uint32_t>(size));
    EXPECT_EQ(header.height, static_cast<uint32_t>(size));
    EXPECT_EQ(header.depth, 8);
    EXPECT_EQ(header.colour, 6) << "RGBA";
  }
}

TEST(SealImage, TheSameSealGivesTheSameBytes) {
  for (const Seal& seal : {personal_seal("山田"), personal_seal("佐々木"), official_seal("千代田区長之印")}) {
    auto a = seal_png(seal, 300), b = seal_png(seal, 300);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b) << seal.text;
  }
}

TEST(SealImage, DifferentNamesGiveDifferentImages) {
  auto a = seal_png(personal_seal("山田"), 300), b = seal_png(personal_seal("山川"), 300);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST(SealImage, TheImpressionIsRedInkOnATransparentGround) {
  for (const Seal& seal : {personal_seal("林"), personal_seal("山田"), personal_seal("佐々木"),
                           official_seal("千代田区長之印")}) {
    auto png = seal_png(seal, 400);
    ASSERT_TRUE(png.ok());
    const Ink ink = ink_of(*png);
    EXPECT_GT(ink.covered, 0.12) << seal.text << ": too little ink";
    EXPECT_LT(ink.covered, 0.75) << seal.text << ": a blot, not a seal";
    EXPECT_GT(ink.red, 0.99) << seal.text;
  }
}

TEST(SealImage, ShortSurnamesAreRoundLongerOnesSquare) {
  EXPECT_EQ(personal_seal("林").shape, Seal::Shape::round);
  EXPECT_EQ(personal_seal("山田").shape, Seal::Shape::round);
  EXPECT_EQ(personal_seal("佐々木").shape, Seal::Shape::square);
  EXPECT_EQ(personal_seal("勅使河原").shape, Seal::Shape::square);
  EXPECT_EQ(official_seal("千代田区長之印").shape, Seal::Shape::square);
  // A round seal leaves its corners bare; a square one inks them (its frame): the top-left 20 × 20
  // pixels of a seal 200 pixels wide.
  auto corner_ink = [](const Seal& seal) {
    std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> s(
        cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 20, 20), cairo_surface_destroy);
    std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr(cairo_create(s.get()), cairo_destroy);
    EXPECT_TRUE(draw_seal(cr.get(), seal, 0, 0, 200).is_ok());
    cairo_surface_flush(s.get());
    const unsigned char* data = cairo_image_surface_get_data(s.get());
    int inked = 0;
    for (int y = 0; y < 20; ++y)
      for (int x = 0; x < 20; ++x)
        inked += (data[y * cairo_image_surface_get_stride(s.get()) + 4 * x + 3] > 128) ? 1 : 0;
    return inked;
  };
  EXPECT_EQ(corner_ink(personal_seal("山田")), 0);
  EXPECT_GT(corner_ink(personal_seal("佐々木")), 20);
}

TEST(SealImage, WhatCannotBeEngravedIsRefused) {
  EXPECT_EQ(seal_png(personal_seal(""), 100).status().code(), Code::invalid_argument);
  EXPECT_EQ(seal_png(Seal{"\xff\xfe", Seal::Shape::square}, 100).status().code(), Code::invalid_argument);
  EXPECT_EQ(seal_png(Seal{"一二三四五六七八九十壱弐参", Seal::Shape::square}, 100).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(seal_png(Seal{"一二三四", Seal::Shape::round}, 100).status().code(), Code::invalid_argument);
  EXPECT_EQ(seal_png(personal_seal("山田"), 15).status().code(), Code::invalid_argument);
  EXPECT_EQ(seal_png(personal_seal("山田"), 4097).status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace jlis::municipal
