// `jlis kiosk` (operators and terminals) and `jlis card virtual` / `jlis card pin-reset` as an
// operator of a simulation runs them. The kiosk commands: a terminal's credential file is new and
// private, a disabled terminal is listed as such, every refusal is a message and a non-zero exit. The
// card commands: the
// population's cards draw their keys from the key pool kept in the data directory, a virtual card
// gets the private keys of its card's certificates (its signatures verify with them), a locked PIN
// is reset at the holder's municipality only (recorded in the card's history) and then works again.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <filesystem>

#include "data_dir_store.h"
#include "jlis_process.h"
#include "kiosk/virtual_card.h"
#include "pki/openssl.h"
#include "template_dir.h"

namespace jlis::e2e {
namespace {

namespace fs = std::filesystem;
using card::CardSecret;
using kiosk::VirtualCard;

class KioskCliE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = temp_dir("virtual-card");
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    const auto out = prepared_dir(dir_, {{"init", "--data", "{dir}", "--simulation"},
                                         {"ca", "init", "--data", "{dir}"},
                                         {"population", "generate", "--data", "{dir}", "--count", "150",
                                          "--key-pool", "2"},
                                         {"linkage", "key", "--data", "{dir}"}});
    ASSERT_EQ(out.size(), 4u) << out.back().err;
    ASSERT_EQ(out[2].exit_code, 0) << out[2].err;
    // An active card whose holder has both certificates, still good.
    auto conn = connect_data_dir(dir_);
    ASSERT_NE(conn, nullptr);
    ASSERT_TRUE(conn->query("SELECT k.card_id, k.municipality_code FROM card_cards k JOIN pki_certificates c "
                            "ON c.card_id = k.card_id WHERE k.status = 'active' AND c.ca = 'signature' "
                            "AND c.device = 'card' AND c.revoked_at IS NULL ORDER BY k.card_id",
                            {}, [&](const store::Row& r) {
                              card_id_ = r.text(0);
                              municipality_ = r.text(1);
                              return false;
                            })
                    .is_ok());
    ASSERT_FALSE(card_id_.empty());
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  std::string file(const std::string& name) { return (fs::path(dir_) / name).string(); }

  static std::string dir_, card_id_, municipality_;
};
std::string KioskCliE2E::dir_, KioskCliE2E::card_id_, KioskCliE2E::municipality_;

bool verifies_with(const std::string& certificate_pem, const std::string& data, const std::string& signature) {
  auto cert = pki::x509_from_pem(certificate_pem).value();
  pki::EvpPkeyPtr key(X509_get_pubkey(cert.get()));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

TEST_F(KioskCliE2E, AVirtualCardSignsWithTheKeysItsCardsCertificatesCertify) {
  EXPECT_EQ(fs::status(file("keys/card-key-pool.pem")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  auto made = jlis({"card", "virtual", "--data", dir_, "--card", card_id_, "--pin", "1234", "--password", "ABC123",
                    "--output", file("a.card")});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  VirtualCard c = VirtualCard::load(file("a.card")).value();
  EXPECT_EQ(c.card_id(), card_id_);
  for (CardSecret which : {CardSecret::authentication_pin, CardSecret::signature_password}) {
    auto signature = c.sign(which, which == CardSecret::authentication_pin ? "1234" : "ABC123", "challenge");
    ASSERT_TRUE(signature.ok()) << signature.status().to_string();
    EXPECT_TRUE(verifies_with(c.slot(which)->certificate_pem, "challenge", *signature));
  }
  // The authentication certificate is the card's (its subject has no locality).
  auto cert = pki::x509_from_pem(c.slot(CardSecret::authentication_pin)->certificate_pem).value();
  EXPECT_EQ(X509_NAME_get_index_by_NID(X509_get_subject_name(cert.get()), NID_localityName, -1), -1);
}

TEST_F(KioskCliE2E, BadArgumentsAreRefusedWithAMessageAndNoFile) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"card", "virtual", "--data", dir_, "--card", card_id_, "--pin", "12345", "--output", file("bad.card")},
           {"card", "virtual", "--data", dir_, "--card", card_id_, "--pin", "1234", "--password", "abc123", "--output",
            file("bad.card")},
           {"card", "virtual", "--data", dir_, "--card", "ffffffffffffffff", "--pin", "1234", "--output",
            file("bad.card")}}) {
    auto out = jlis(args);
    EXPECT_NE(out.exit_code, 0);
    EXPECT_NE(out.err.find("jlis: error:"), std::string::npos) << out.err;
    EXPECT_FALSE(fs::exists(file("bad.card")));
  }
}

TEST_F(KioskCliE2E, ALockedPinIsResetAtTheHoldersMunicipalityAndWorksAgain) {
  ASSERT_EQ(jlis({"card", "virtual", "--data", dir_, "--card", card_id_, "--pin", "1234", "--output", file("b.card")})
                .exit_code,
            0);
  {
    VirtualCard c = VirtualCard::load(file("b.card")).value();
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(c.verify(CardSecret::authentication_pin, "0000").is_ok());
    ASSERT_TRUE(c.locked(CardSecret::authentication_pin));
    ASSERT_TRUE(c.save(file("b.card")).is_ok());
  }
  const std::string other = municipality_ == "131016" ? "131024" : "131016";
  auto refused = jlis({"card", "pin-reset", "--data", dir_, "--municipality", other, "--card-file", file("b.card"),
                       "--secret", "authentication_pin", "--new-secret", "4321"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(VirtualCard::load(file("b.card"))->locked(CardSecret::authentication_pin));
  auto no_signature_key = jlis({"card", "pin-reset", "--data", dir_, "--municipality", municipality_, "--card-file",
                                file("b.card"), "--secret", "signature_password", "--new-secret", "ABC123"});
  EXPECT_NE(no_signature_key.exit_code, 0);

  auto reset = jlis({"card", "pin-reset", "--data", dir_, "--municipality", municipality_, "--card-file", file("b.card"),
                     "--secret", "authentication_pin", "--new-secret", "4321"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  VirtualCard c = VirtualCard::load(file("b.card")).value();
  EXPECT_FALSE(c.locked(CardSecret::authentication_pin));
  EXPECT_TRUE(c.verify(CardSecret::authentication_pin, "4321").is_ok());

  // Recorded once, by the window, in the card's history.
  auto conn = connect_data_dir(dir_);
  ASSERT_NE(conn, nullptr);
  auto resets = conn->query_int64(
      "SELECT COUNT(*) FROM card_events e JOIN card_cards k ON k.card_seq = e.card_seq "
      "WHERE k.card_id = ? AND e.action = 'pin_reset' AND e.note = 'authentication_pin' AND e.actor = ?",
      {card_id_, "municipality:" + municipality_});
  ASSERT_TRUE(resets.ok());
  EXPECT_EQ(resets->value_or(0), 1);
}

TEST_F(KioskCliE2E, KioskOperatorsAndTerminalsFromTheCommandLine) {
  EXPECT_EQ(jlis({"kiosk", "operator", "add", "--data", dir_, "--name", "ローソン"}).exit_code, 0);
  auto twice = jlis({"kiosk", "operator", "add", "--data", dir_, "--name", "ローソン"});
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_NE(twice.err.find("registered already"), std::string::npos) << twice.err;
  auto added = jlis({"kiosk", "terminal", "add", "--data", dir_, "--operator", "ローソン", "--store", "L-0001",
                     "--output", file("t.json")});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string id = added.last_line();
  EXPECT_EQ(id.rfind("kt-", 0), 0u) << id;
  EXPECT_EQ(fs::status(file("t.json")).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  auto again = jlis({"kiosk", "terminal", "add", "--data", dir_, "--operator", "ローソン", "--store", "L-0002",
                     "--output", file("t.json")});
  EXPECT_NE(again.exit_code, 0);  // the credential file exists: never overwritten
  EXPECT_NE(jlis({"kiosk", "terminal", "add", "--data", dir_, "--operator", "nobody", "--store", "X-1", "--output",
                  file("u.json")})
                .exit_code,
            0);
  EXPECT_FALSE(fs::exists(file("u.json")));
  EXPECT_EQ(jlis({"kiosk", "terminal", "disable", "--data", dir_, "--terminal", id}).exit_code, 0);
  EXPECT_NE(jlis({"kiosk", "terminal", "disable", "--data", dir_, "--terminal", id}).exit_code, 0);
  auto list = jlis({"kiosk", "terminal", "list", "--data", dir_});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(id + ",ローソン,L-0001,"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.back(), '\n');
  EXPECT_NE(list.out.substr(list.out.find(id)).find("Z,20"), std::string::npos) << "no disabled_at: " << list.out;
}

// `jlis cards list`: the card register of a municipality as CSV, filtered by state, saying which cards
// carry a signature certificate (15 or over at handover); what the demo uses to find a resident with
// a card.
TEST_F(KioskCliE2E, CardsListShowsAMunicipalitysCardsByState) {
  auto active = jlis({"cards", "list", "--data", dir_, "--municipality", municipality_, "--status", "active",
                      "--limit", "100000"});
  ASSERT_EQ(active.exit_code, 0) << active.err;
  const std::string header =
      "card_id,resident_code,status,expires_on,delivered_on,cert_expires_on,signature_certificate\n";
  EXPECT_EQ(active.out.rfind(header, 0), 0u);
  EXPECT_NE(active.out.find("\n" + card_id_ + ","), std::string::npos) << active.out;
  EXPECT_EQ(active.out.find(",suspended,"), std::string::npos);
  auto conn = connect_data_dir(dir_);
  ASSERT_NE(conn, nullptr);
  const int64_t expected =
      conn->query_int64("SELECT COUNT(*) FROM card_cards WHERE municipality_code = ? AND status = 'active'",
                        {municipality_})
          ->value_or(-1);
  EXPECT_EQ(static_cast<int64_t>(std::count(active.out.begin(), active.out.end(), '\n')) - 1, expected);
  const int64_t signing = conn->query_int64("SELECT COUNT(*) FROM card_cards WHERE municipality_code = ? AND "
                                            "status = 'active' AND signature_certificate_allowed = 1",
                                            {municipality_})
                              ->value_or(-1);
  size_t yes = 0, no = 0;
  for (size_t at = 0; (at = active.out.find('\n', at + 1)) != std::string::npos;) {
    yes += active.out.compare(at - 4, 4, ",yes") == 0;
    no += active.out.compare(at - 3, 3, ",no") == 0;
  }
  EXPECT_EQ(static_cast<int64_t>(yes), signing);
  EXPECT_EQ(static_cast<int64_t>(yes + no), expected);
  auto one = jlis({"cards", "list", "--data", dir_, "--municipality", municipality_, "--limit", "1"});
  EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 2);
  EXPECT_NE(jlis({"cards", "list", "--data", dir_, "--municipality", municipality_, "--status", "happy"}).exit_code, 0);
  EXPECT_NE(jlis({"cards", "list", "--data", dir_, "--municipality", "12"}).exit_code, 0);
}

}  // namespace
}  // namespace jlis::e2e
