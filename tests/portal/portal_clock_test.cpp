// The resident's own page's deadlines with an injected clock (portal.h: PortalOptions::clock), in
// process over the pki tests' CA fixture (a registry, cards and a JPKI CA on a data directory of
// their own): a log-in opened and not used within login_seconds is gone; a session ends after
// idle_seconds without a request and lifetime_seconds after its log-in however busy; each end is
// recorded with its reason.
#include <ctime>

#include <nlohmann/json.hpp>

#include "../pki/ca_fixture.h"
#include "../pki/requests.h"
#include "pki/card_login.h"
#include "portal/portal.h"

namespace jlis::portal::testing {
namespace {

class PortalClockTest : public pki::testing::CaTest {
 protected:
  void SetUp() override {
    // The card system's today and the CA's clock at the real time: the OCSP answer the log-in
    // checks is checked for currency against the machine's clock (OpenSSL's).
    today_ = Date::today();
    CaTest::SetUp();
    now_ = static_cast<int64_t>(std::time(nullptr));
    {
      auto conn = db_->connect().value();
      ASSERT_TRUE(Portal::migrate(*conn).is_ok());
    }
    PortalOptions options;
    options.login_seconds = 300;
    options.idle_seconds = 1800;
    options.lifetime_seconds = 10800;
    options.clock = [this] { return now_.load(); };
    portal_ = std::make_unique<Portal>(*pool_, *writer_, *registry_, *ca_, nullptr, options);
    resident_ = born("portal-clock-1", "1980-01-01");
    card_with_certificates(resident_, keys_);
    for (const auto& [serial, state] : certificates())
      if (state.what == "card/authentication") serial_ = serial;
    ASSERT_FALSE(serial_.empty());
    auto conn = pool_->acquire().value();
    auto rec = pki::CertificateAuthority::find_in(*conn, serial_);
    ASSERT_TRUE(rec.ok()) << rec.status().to_string();
    pem_ = pki::x509_pem(pki::x509_from_der(rec->der).value().get()).value();
  }
  void TearDown() override {
    portal_.reset();
    CaTest::TearDown();
  }

  Result<Session> log_in(const Opened& o) {
    return portal_->log_in(o.session_id, pem_,
                           pki::base64_encode(pki::testing::sign_bytes(keys_.authentication.get(),
                                                                       pki::base64_decode(o.challenge).value())));
  }
  std::string end_reason(const std::string& id) {
    std::string reason;
    auto conn = pool_->acquire().value();
    EXPECT_TRUE(conn->query("SELECT end_reason FROM portal_logins WHERE login_id = ?", {id}, [&](const store::Row& r) {
                      reason = r.is_null(0) ? "" : r.text(0);
                      return false;
                    })
                    .is_ok());
    return reason;
  }

  Keys keys_;
  registry::Resident resident_;
  std::string serial_, pem_;
  std::unique_ptr<Portal> portal_;
};

// Rule: the log-in is good until its deadline (300 s): at it, the log-in is gone (not_found).
TEST_F(PortalClockTest, ALogInIsGoneAtItsDeadline) {
  // Opened in the past and used now (the log-in's OCSP answer is then current for OpenSSL).
  const int64_t real = now_.load();
  now_ = real - 300;
  auto late = portal_->open();
  ASSERT_TRUE(late.ok());
  now_ = real;
  auto s = log_in(*late);
  EXPECT_EQ(s.status().code(), Code::not_found) << s.status().to_string();
  now_ = real - 299;
  auto in_time = portal_->open();
  now_ = real;
  auto t = log_in(*in_time);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ(t->resident_code, resident_.resident_code);
}

// Rule: a session ends after idle_seconds without a request (a request just before moves the
// deadline on), recorded as idle.
TEST_F(PortalClockTest, ASessionEndsWhenIdle) {
  auto s = log_in(portal_->open().value());
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  now_ += 1799;
  ASSERT_TRUE(portal_->resident(s->secret).ok());
  now_ += 1799;
  ASSERT_TRUE(portal_->resident(s->secret).ok()) << "the request before moved the deadline on";
  now_ += 1800;
  EXPECT_EQ(portal_->resident(s->secret).status().code(), Code::unauthenticated);
  EXPECT_EQ(portal_->record(s->secret).status().code(), Code::unauthenticated);
  EXPECT_EQ(end_reason(s->session_id), "idle");
}

// Rule: however busy, a session ends lifetime_seconds (3 h) after its log-in, recorded as such.
TEST_F(PortalClockTest, ASessionEndsAtItsLifetime) {
  auto s = log_in(portal_->open().value());
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  for (int i = 0; i < 7; ++i) {  // every 25 minutes: never idle
    now_ += 1500;
    ASSERT_TRUE(portal_->resident(s->secret).ok()) << i;
  }
  now_ += 10800 - 7 * 1500;
  EXPECT_EQ(portal_->resident(s->secret).status().code(), Code::unauthenticated);
  EXPECT_EQ(end_reason(s->session_id), "lifetime");
}

// Rule: the record is the session holder's, with the registry's disclosure (no decorators here).
TEST_F(PortalClockTest, TheRecordIsTheHoldersDisclosure) {
  auto s = log_in(portal_->open().value());
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto rec = portal_->record(s->secret);
  ASSERT_TRUE(rec.ok()) << rec.status().to_string();
  EXPECT_EQ((*rec)["resident_code"], resident_.resident_code.str());
  EXPECT_EQ((*rec)["resident"]["name"], "山田　花子");
  EXPECT_TRUE((*rec)["provisions"].is_array());
  EXPECT_FALSE(rec->contains("linkage_records"));
}

}  // namespace
}  // namespace jlis::portal::testing
