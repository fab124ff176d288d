// The verification code (municipal/verification.h): what it signs, and what verify refuses.
#include "municipal/verification.h"

#include <gtest/gtest.h>

#include "documents.h"

namespace jlis::municipal {
namespace {

using testing::juminhyo;
using testing::p256_key;

TEST(Verification, VerifyAnswersWhatTheMunicipalitySigned) {
  auto key = p256_key();
  const Document d = juminhyo();
  auto code = make_verification_code(d, key.get());
  ASSERT_TRUE(code.ok()) << code.status().to_string();
  EXPECT_TRUE(code->payload.starts_with("JLIS1:"));
  auto verified = verify(code->payload, key.get());
  ASSERT_TRUE(verified.ok()) << verified.status().to_string();
  EXPECT_EQ(verified->issuance_number, "131016-2025-0012345");
  EXPECT_EQ(verified->municipality.str(), "131016");
  EXPECT_EQ(verified->issued_on, testing::date(2025, 12, 2));
  EXPECT_EQ(verified->content_digest, content_digest(d));
  EXPECT_EQ(verified->content_digest.size(), 32u);
}

TEST(Verification, ThePayloadIsInTheQrAlphanumericSetAndShort) {
  auto key = p256_key();
  Document d = juminhyo();
  d.issuance_number = std::string(32, '9');  // the longest issuance number
  auto code = make_verification_code(d, key.get());
  ASSERT_TRUE(code.ok());
  for (char c : code->payload)
    EXPECT_NE(std::string_view("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:").find(c), std::string_view::npos) << c;
  EXPECT_LE(code->payload.size(), 221u);  // version 8 at level M holds 221 alphanumeric characters
}

TEST(Verification, AnotherMunicipalitysKeyIsRefused) {
  auto key = p256_key(), other = p256_key();
  auto code = make_verification_code(juminhyo(), key.get());
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(verify(code->payload, other.get()).status().code(), Code::unauthenticated);
}

TEST(Verification, EveryChangedCharacterIsRefused) {
  auto key = p256_key();
  auto code = make_verification_code(juminhyo(), key.get());
  ASSERT_TRUE(code.ok());
  const std::string& good = code->payload;
  for (size_t i = 0; i < good.size(); ++i) {
    for (char replacement : {'0', 'A', ':', ' '}) {
      if (good[i] == replacement) continue;
      std::string changed = good;
      changed[i] = replacement;
      EXPECT_FALSE(verify(changed, key.get()).ok()) << "character " << i << " changed to '" << replacement << "'";
    }
  }
  EXPECT_FALSE(verify(good.substr(0, good.size() - 1), key.get()).ok()) << "a character short";
  EXPECT_FALSE(verify(good + "0", key.get()).ok()) << "a character more";
  EXPECT_FALSE(verify(good + "00", key.get()).ok()) << "a byte more";
}

TEST(Verification, WhatIsNotAVerificationCodeIsInvalid) {
  auto key = p256_key();
  for (const char* payload : {"", "JLIS1:", "JLIS2:0000", "https://example.jp/", "JLIS1:abc", "JLIS1:::::",
                              "JLIS1:0"}) {
    EXPECT_EQ(verify(payload, key.get()).status().code(), Code::invalid_argument) << payload;
  }
}

TEST(Verification, DifferentContentHasADifferentDigest) {
  const Document base = juminhyo();
  const std::string digest = content_digest(base);
  EXPECT_EQ(content_digest(juminhyo()), digest) << "the same content, the same digest";

  std::vector<std::pair<std::string, Document>> variants;
  auto vary = [&](const std::string& what, auto change) {
    Document d = base;
    change(d);
    variants.emplace_back(what, std::move(d));
  };
  auto fields = [](Document& d) -> std::vector<FieldTable::Row>& { return std::get<FieldTable>(d.blocks[0]).rows; };
  vary("title", [](Document& d) { d.title = "住民票記載事項証明書"; });
  vary("subject", [](Document& d) { d.subject = "山田　太郎"; });
  vary("date", [](Document& d) { d.issued_on = testing::date(2025, 12, 3); });
  vary("issuance number", [](Document& d) { d.issuance_number += "1"; });
  vary("certification", [](Document& d) { d.certification += " "; });
  vary("mayor", [](Document& d) { d.issuer.mayor_name = "山田　一郎"; });
  vary("a value", [&](Document& d) { fields(d)[1].value.text = "昭和60年4月13日"; });
  vary("a furigana", [&](Document& d) { fields(d)[0].value.furigana = "ヤマダ　ハナゴ"; });
  vary("a label", [&](Document& d) { fields(d)[2].label = "性"; });
  vary("text moved from label to value", [&](Document& d) {
    fields(d)[2].label = "性別女";
    fields(d)[2].value.text = "";
  });
  vary("text moved from name to furigana", [&](Document& d) {
    fields(d)[0].value.text = "山田　花";
    fields(d)[0].value.furigana = "子ヤマダ　ハナコ";
  });
  vary("rows swapped", [&](Document& d) { std::swap(fields(d)[1], fields(d)[2]); });
  vary("a row less", [&](Document& d) { fields(d).pop_back(); });
  vary("blocks swapped", [](Document& d) { std::swap(d.blocks[0], d.blocks[1]); });
  vary("a note aligned otherwise", [](Document& d) { std::get<Note>(d.blocks[1]).align = Note::Align::right; });
  vary("an image", [](Document& d) { d.blocks.push_back(ImageBox{"png-a", "印影", 18, 18}); });
  for (const auto& [what, d] : variants) EXPECT_NE(content_digest(d), digest) << what;

  Document a = base, b = base;
  a.blocks.push_back(ImageBox{"png-a", "印影", 18, 18});
  b.blocks.push_back(ImageBox{"png-b", "印影", 18, 18});
  EXPECT_NE(content_digest(a), content_digest(b)) << "another seal impression";
}

TEST(Verification, AChangedDocumentNoLongerMatchesTheSignedDigest) {
  auto key = p256_key();
  Document d = juminhyo();
  auto code = make_verification_code(d, key.get());
  ASSERT_TRUE(code.ok());
  std::get<FieldTable>(d.blocks[0]).rows[5].value.text = "東京都千代田区九段南一丁目2番2号";
  auto verified = verify(code->payload, key.get());
  ASSERT_TRUE(verified.ok());
  EXPECT_NE(verified->content_digest, content_digest(d));
}

TEST(Verification, OnlyAP256KeySigns) {
  auto rsa = pki::generate_rsa(2048);
  ASSERT_TRUE(rsa.ok());
  EXPECT_EQ(make_verification_code(juminhyo(), rsa->get()).status().code(), Code::invalid_argument);
  pki::EvpPkeyPtr p384(EVP_EC_gen("P-384"));
  ASSERT_TRUE(p384);
  EXPECT_EQ(make_verification_code(juminhyo(), p384.get()).status().code(), Code::invalid_argument);
  EXPECT_EQ(make_verification_code(juminhyo(), nullptr).status().code(), Code::invalid_argument);

  auto key = p256_key();
  auto code = make_verification_code(juminhyo(), key.get());
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(verify(code->payload, p384.get()).status().code(), Code::invalid_argument);
}

TEST(Verification, TheIssuanceNumberAndIssuerMustBeSignable) {
  auto key = p256_key();
  Document d = juminhyo();
  d.issuance_number = std::string(33, '1');
  EXPECT_EQ(make_verification_code(d, key.get()).status().code(), Code::invalid_argument) << "too long";
  d.issuance_number.clear();
  EXPECT_EQ(make_verification_code(d, key.get()).status().code(), Code::invalid_argument) << "empty";
  d = juminhyo();
  d.issuer.code = LocalGovernmentCode();
  EXPECT_EQ(make_verification_code(d, key.get()).status().code(), Code::invalid_argument) << "no issuer code";
}

TEST(Verification, AVerifierWithOnlyThePublicKeyVerifies) {
  auto key = p256_key();
  auto code = make_verification_code(juminhyo(), key.get());
  ASSERT_TRUE(code.ok());
  auto pem = pki::public_key_pem(key.get());
  ASSERT_TRUE(pem.ok());
  auto public_only = pki::public_key_from_pem(*pem);
  ASSERT_TRUE(public_only.ok());
  EXPECT_TRUE(verify(code->payload, public_only->get()).ok());
}

}  // namespace
}  // namespace jlis::municipal
