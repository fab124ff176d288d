// The CA fixture of the pki tests, over the card fixture (tests/card/fixture.h): a fresh data
// directory with a registry (with the numbering component), a card system and a JPKI CA with
// encrypted key files attached to both, as `jlis serve` assembles them. The CA's clock is now_,
// noon in Japan of the card fixture's injected "today" until a test moves it.
// For the revocation table: issue a card with certificates, change something, and compare every
// certificate's state before and after (certificates(), changed()).
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "../card/fixture.h"
#include "numbering/numbering.h"
#include "pki/ca.h"
#include "pki/ca_internal.h"
#include "pki/openssl.h"
#include "requests.h"
#include "test_cache.h"

namespace jlis::pki::testing {

class CaTest : public card::testing::CardTest {
 protected:
  void SetUp() override {
    CardTest::SetUp();
    now_ = start_of_day_jst(today_) + 12 * 3600;
    {
      auto conn = db_->connect().value();
      Status s = CertificateAuthority::migrate(*conn);
      ASSERT_TRUE(s.is_ok()) << s.to_string();
      ASSERT_TRUE(numbering::Numbering::migrate(*conn).is_ok());
    }
    // The registry again, with the numbering component (resident-code changes need it).
    cards_.reset();
    registry_.reset();
    ASSERT_TRUE(numbering::Numbering::create_key_file(dir_.string()).is_ok());
    numbering_ = numbering::Numbering::open(dir_.string()).value();
    registry_ = std::make_unique<registry::Registry>(*pool_, *writer_, card::testing::reference(), numbering_.get());
    card::CardSystemOptions card_options;
    card_options.clock = [this] { return today_; };
    cards_ = std::make_unique<card::CardSystem>(*pool_, *writer_, *registry_, card_options);
    cards_->attach(*registry_);
    CaInitOptions init;
    init.keys.passphrase = "a test passphrase";
    // The hierarchy `jlis ca init` makes, copied from the test cache after the first (test_cache.h).
    Status s = cached_directory("jpki-ca-file", dir_ / "pki", [&](const std::filesystem::path&) {
      return CertificateAuthority::init(dir_.string(), init);
    });
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    CaOptions options;
    options.clock = [this] { return now_.load(); };
    ca_ = CertificateAuthority::open(dir_.string(), *pool_, *writer_, *registry_, {"a test passphrase", ""}, options)
              .value();
    ca_->attach(*registry_, *cards_);
    ASSERT_TRUE(ca_->load_keys().is_ok());
  }
  void TearDown() override {
    ca_.reset();
    cards_.reset();
    registry_.reset();
    numbering_.reset();
    CardTest::TearDown();
  }

  // RSA-2048 key pairs of this process's own, as a card (or a smartphone) generates them (from the
  // test cache: test_cache.h).
  struct Keys {
    EvpPkeyPtr signature = next_cached_rsa_key();
    EvpPkeyPtr authentication = next_cached_rsa_key();
    card::CardKeys pems() const {
      return {public_key_pem(signature.get()).value(), public_key_pem(authentication.get()).value()};
    }
  };

  // Hands a new card over with certificate keys; answers its id. `keys` must outlive the test
  // (smartphone issuance is authorised with them).
  std::string card_with_certificates(const registry::Resident& r, const Keys& keys) {
    std::string id = produced(accepted(request(r.resident_code)).application_id);
    auto card = cards_->handover(municipality(r.municipality_code.str().c_str()), id, true, keys.pems());
    EXPECT_TRUE(card.ok()) << card.status().to_string();
    card_keys_of_[id] = &keys;
    return id;
  }
  // Certification requests for `keys` (a null key: that kind is not asked for), each signed by its
  // own key over a fresh challenge of the CA; for a smartphone, authorised by the card's
  // authentication key (pki/ca.h).
  CertificateAuthority::CertificateRequests requests(const std::string& card_id, const Keys& keys, bool smartphone,
                                                     const char* municipality_code = card::testing::kChiyoda) {
    CertificateAuthority::CertificateRequests out;
    auto c = ca_->new_issuance_challenge(municipality(municipality_code), card_id);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    if (!c.ok()) return out;
    out.challenge_id = c->challenge_id;
    if (keys.signature) out.signature = request_der({keys.signature.get(), nullptr, c->challenge});
    if (keys.authentication) out.authentication = request_der({keys.authentication.get(), nullptr, c->challenge});
    if (smartphone && card_keys_of_.count(card_id))
      out.authorisation = sign_bytes(card_keys_of_[card_id]->authentication.get(),
                                     CertificateAuthority::authorisation_message(c->challenge, out.signature,
                                                                                 out.authentication));
    return out;
  }
  std::vector<CertificateRecord> smartphone(const std::string& card_id, const Keys& keys,
                                            const char* municipality_code = card::testing::kChiyoda) {
    auto out = ca_->issue_smartphone(municipality(municipality_code), card_id,
                                     requests(card_id, keys, true, municipality_code));
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : std::vector<CertificateRecord>{};
  }

  // "device/kind" → "status reason revoked_at" of every certificate, by serial.
  struct State {
    std::string what;    // "card/signature"
    std::string status;  // as CertificateRecord::status
    std::string reason;  // RFC 5280 name, or "" when not revoked
    int64_t revoked_at = 0;
    bool operator==(const State&) const = default;
  };
  std::map<std::string, State> certificates() {
    std::map<std::string, State> out;
    auto conn = pool_->acquire().value();
    const int64_t now = now_.load();
    EXPECT_TRUE(conn->query(std::string("SELECT ") + kCertificateColumns + " FROM pki_certificates", {},
                            [&](const store::Row& r) {
                              CertificateRecord c = read_certificate(r);
                              out[c.serial] = {std::string(device_name(c.device)) + "/" +
                                                   std::string(kind_name(c.kind)),
                                               std::string(c.status(now)),
                                               c.revoked_at ? std::string(reason_name(c.reason)) : "",
                                               c.revoked_at.value_or(0)};
                              return true;
                            })
                    .is_ok());
    return out;
  }
  // The certificates whose state differs between two snapshots (new ones included), as
  // "device/kind status reason".
  static std::multiset<std::string> changed(const std::map<std::string, State>& before,
                                            const std::map<std::string, State>& after) {
    std::multiset<std::string> out;
    for (const auto& [serial, s] : after) {
      auto it = before.find(serial);
      if (it != before.end() && it->second == s) continue;
      out.insert(s.what + " " + s.status + (s.reason.empty() ? "" : " " + s.reason) +
                 (it == before.end() ? " (new)" : ""));
    }
    return out;
  }
  // A fresh key pair "generated on the card", its public half as PEM.
  static std::string new_key_pem(EvpPkeyPtr* keep = nullptr) {
    auto key = generate_rsa(2048).value();
    std::string pem = public_key_pem(key.get()).value();
    if (keep) *keep = std::move(key);
    return pem;
  }
  // A produced (shipped) card of `resident`.
  std::string shipped(const registry::Resident& r) { return produced(accepted(request(r.resident_code)).application_id); }

  int64_t good_certificates_of_card(const std::string& card_id) {
    return count("SELECT COUNT(*) FROM pki_certificates WHERE card_id = '" + card_id +
                 "' AND revoked_at IS NULL AND not_after >= " + std::to_string(now_.load()));
  }

  int64_t now() const { return now_.load(); }
  // Moves the card system's today and the CA's clock (noon in Japan of that day) together.
  void set_today(Date day) {
    today_ = day;
    now_ = start_of_day_jst(day) + 12 * 3600;
  }

  std::atomic<int64_t> now_{0};  // the CA's clock
  std::map<std::string, const Keys*> card_keys_of_;
  std::unique_ptr<numbering::Numbering> numbering_;
  std::unique_ptr<CertificateAuthority> ca_;
};

}  // namespace jlis::pki::testing
