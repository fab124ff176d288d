// The virtual card's chip rules (kiosk/virtual_card.h), every row: the PIN locks after 3 wrong tries,
// the password after 5, a right one before the lock restores the tries, a locked secret refuses
// even the right one until reset, the tries survive the card file, and the secrets' forms.
#include "kiosk/virtual_card.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <filesystem>

#include "pki/openssl.h"

namespace jlis::kiosk {
namespace {

using card::CardSecret;

struct KeyAndCertificate {
  std::string key_pem, certificate_pem;
  pki::EvpPkeyPtr key;
};

// A self-signed certificate for a fresh RSA-2048 key: what the chip's slot needs.
KeyAndCertificate make_pair(const char* cn) {
  KeyAndCertificate out;
  out.key = pki::generate_rsa(2048).value();
  pki::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), out.key.get());
  X509_sign(cert.get(), out.key.get(), EVP_sha256());
  out.certificate_pem = pki::x509_pem(cert.get()).value();
  out.key_pem = pki::private_key_pem(out.key.get()).value();
  return out;
}

bool verifies(EVP_PKEY* key, const std::string& data, const std::string& signature) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

class VirtualCardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auth_ = new KeyAndCertificate(make_pair("authentication"));
    sig_ = new KeyAndCertificate(make_pair("signature"));
  }
  static void TearDownTestSuite() {
    delete auth_;
    delete sig_;
  }
  static VirtualCard card() {
    return VirtualCard::make("0123456789abcdef", auth_->certificate_pem, auth_->key_pem, "1234", sig_->certificate_pem,
                             sig_->key_pem, "ABC123")
        .value();
  }
  std::string path() {
    return (std::filesystem::path(::testing::TempDir()) /
            (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".card"))
        .string();
  }
  static KeyAndCertificate* auth_;
  static KeyAndCertificate* sig_;
};
KeyAndCertificate* VirtualCardTest::auth_ = nullptr;
KeyAndCertificate* VirtualCardTest::sig_ = nullptr;

TEST_F(VirtualCardTest, TheRightPinSignsWithTheKeyItsCertificateCertifies) {
  VirtualCard c = card();
  auto signature = c.sign(CardSecret::authentication_pin, "1234", "challenge bytes");
  ASSERT_TRUE(signature.ok()) << signature.status().to_string();
  EXPECT_TRUE(verifies(auth_->key.get(), "challenge bytes", *signature));
  EXPECT_FALSE(verifies(sig_->key.get(), "challenge bytes", *signature));
  auto signed_with_password = c.sign(CardSecret::signature_password, "ABC123", "a document");
  ASSERT_TRUE(signed_with_password.ok());
  EXPECT_TRUE(verifies(sig_->key.get(), "a document", *signed_with_password));
}

TEST_F(VirtualCardTest, ThreeWrongPinsLockTheAuthenticationKeyAndTheRightPinIsThenRefused) {
  VirtualCard c = card();
  auto first = c.verify(CardSecret::authentication_pin, "0000");
  EXPECT_EQ(first.code(), Code::permission_denied);
  EXPECT_NE(first.message().find("2 tries left"), std::string::npos) << first.message();
  EXPECT_NE(c.verify(CardSecret::authentication_pin, "0001").message().find("1 try left"), std::string::npos);
  EXPECT_FALSE(c.locked(CardSecret::authentication_pin));
  auto third = c.verify(CardSecret::authentication_pin, "0002");
  EXPECT_NE(third.message().find("locked"), std::string::npos) << third.message();
  EXPECT_TRUE(c.locked(CardSecret::authentication_pin));
  EXPECT_EQ(c.verify(CardSecret::authentication_pin, "1234").code(), Code::permission_denied);
  EXPECT_FALSE(c.sign(CardSecret::authentication_pin, "1234", "x").ok());
  // The other key has its own counter.
  EXPECT_FALSE(c.locked(CardSecret::signature_password));
  EXPECT_TRUE(c.verify(CardSecret::signature_password, "ABC123").is_ok());
}

TEST_F(VirtualCardTest, FiveWrongPasswordsLockTheSignatureKey) {
  VirtualCard c = card();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(c.verify(CardSecret::signature_password, "WRONG1").code(), Code::permission_denied);
    EXPECT_EQ(c.slot(CardSecret::signature_password)->tries_left, 4 - i);
  }
  EXPECT_FALSE(c.locked(CardSecret::signature_password));
  EXPECT_FALSE(c.verify(CardSecret::signature_password, "WRONG1").is_ok());
  EXPECT_TRUE(c.locked(CardSecret::signature_password));
  EXPECT_FALSE(c.verify(CardSecret::signature_password, "ABC123").is_ok());
  EXPECT_TRUE(c.verify(CardSecret::authentication_pin, "1234").is_ok());
}

TEST_F(VirtualCardTest, ARightPinBeforeTheLockRestoresEveryTry) {
  VirtualCard c = card();
  EXPECT_FALSE(c.verify(CardSecret::authentication_pin, "9999").is_ok());
  EXPECT_FALSE(c.verify(CardSecret::authentication_pin, "9999").is_ok());
  EXPECT_TRUE(c.verify(CardSecret::authentication_pin, "1234").is_ok());
  EXPECT_EQ(c.slot(CardSecret::authentication_pin)->tries_left, kPinTries);
  EXPECT_FALSE(c.verify(CardSecret::authentication_pin, "9999").is_ok());
  EXPECT_FALSE(c.verify(CardSecret::authentication_pin, "9999").is_ok());
  EXPECT_FALSE(c.locked(CardSecret::authentication_pin));
}

TEST_F(VirtualCardTest, TheTriesLeftAreKeptInTheCardFile) {
  VirtualCard c = card();
  EXPECT_FALSE(c.verify(CardSecret::authentication_pin, "9999").is_ok());
  EXPECT_FALSE(c.verify(CardSecret::authentication_pin, "9999").is_ok());
  ASSERT_TRUE(c.save(path()).is_ok());
  VirtualCard again = VirtualCard::load(path()).value();
  EXPECT_EQ(again.card_id(), "0123456789abcdef");
  EXPECT_EQ(again.slot(CardSecret::authentication_pin)->tries_left, 1);
  EXPECT_FALSE(again.verify(CardSecret::authentication_pin, "9999").is_ok());
  ASSERT_TRUE(again.save(path()).is_ok());
  EXPECT_TRUE(VirtualCard::load(path())->locked(CardSecret::authentication_pin));
  EXPECT_EQ(std::filesystem::status(path()).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(VirtualCardTest, AResetSetsANewSecretWithEveryTryAndTheOldOneNoLongerWorks) {
  VirtualCard c = card();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(c.verify(CardSecret::authentication_pin, "0000").is_ok());
  ASSERT_TRUE(c.locked(CardSecret::authentication_pin));
  EXPECT_EQ(c.reset(CardSecret::authentication_pin, "12345").code(), Code::invalid_argument);
  EXPECT_TRUE(c.locked(CardSecret::authentication_pin));
  ASSERT_TRUE(c.reset(CardSecret::authentication_pin, "4321").is_ok());
  EXPECT_EQ(c.slot(CardSecret::authentication_pin)->tries_left, kPinTries);
  EXPECT_FALSE(c.verify(CardSecret::authentication_pin, "1234").is_ok());
  EXPECT_TRUE(c.verify(CardSecret::authentication_pin, "4321").is_ok());
}

TEST_F(VirtualCardTest, TheSecretsForms) {
  EXPECT_TRUE(check_secret_form(CardSecret::authentication_pin, "0000").is_ok());
  for (const char* bad : {"", "123", "12345", "12a4", "１２３４"})
    EXPECT_EQ(check_secret_form(CardSecret::authentication_pin, bad).code(), Code::invalid_argument) << bad;
  for (const char* good : {"ABC123", "A1B2C3D4E5F6G7H8", "000000", "ZZZZZZ"})
    EXPECT_TRUE(check_secret_form(CardSecret::signature_password, good).is_ok()) << good;
  for (const char* bad : {"ABC12", "A1B2C3D4E5F6G7H8I", "abc123", "ABC 123", "ABC-123"})
    EXPECT_EQ(check_secret_form(CardSecret::signature_password, bad).code(), Code::invalid_argument) << bad;
}

TEST_F(VirtualCardTest, AKeyThatIsNotTheCertificatesIsRefused) {
  auto swapped = VirtualCard::make("0123456789abcdef", auth_->certificate_pem, sig_->key_pem, "1234", std::nullopt,
                                   std::nullopt, "");
  EXPECT_EQ(swapped.status().code(), Code::invalid_argument);
  auto without_signature =
      VirtualCard::make("0123456789abcdef", auth_->certificate_pem, auth_->key_pem, "1234", std::nullopt, std::nullopt, "");
  ASSERT_TRUE(without_signature.ok());
  EXPECT_EQ(without_signature->slot(CardSecret::signature_password), nullptr);
  EXPECT_EQ(without_signature->verify(CardSecret::signature_password, "ABC123").code(), Code::not_found);
}

TEST_F(VirtualCardTest, AFileThatIsNotACardIsRefused) {
  {
    std::FILE* f = std::fopen(path().c_str(), "w");
    std::fputs("{\"format\": \"something else\"}", f);
    std::fclose(f);
  }
  EXPECT_EQ(VirtualCard::load(path()).status().code(), Code::invalid_argument);
  EXPECT_EQ(VirtualCard::load(path() + ".missing").status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace jlis::kiosk
