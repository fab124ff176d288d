// A CA over the card fixture (tests/card/fixture.h): a fresh data directory with a registry, a card
// system and a JPKI CA attached to both, as `jlis serve` assembles them; "today" is the CA's own
// today (its clock is injectable through now_).
#pragma once

#include <future>
#include <thread>

#include "../card/fixture.h"
#include "pki/ca.h"
#include "pki/openssl.h"

namespace jlis::pki::testing {

class CaTest : public card::testing::CardTest {
 protected:
  void SetUp() override {
    CardTest::SetUp();
    now_ = static_cast<int64_t>(std::time(nullptr));
    today_ = Date::from_days((now_ + 9 * 3600) / 86400);
    CaInitOptions init;
    init.keys.passphrase = "a test passphrase";
    Status s = CertificateAuthority::init(dir_.string(), init);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    auto conn = db_->connect().value();
    ASSERT_TRUE(CertificateAuthority::migrate(*conn).is_ok());
    CaOptions options;
    options.clock = [this] { return now_.load(); };
    ca_ = CertificateAuthority::open(dir_.string(), *pool_, *writer_, *registry_, {"a test passphrase", ""}, options)
              .value();
    ca_->attach(*registry_, *cards_);
    ASSERT_TRUE(ca_->load_keys().is_ok());
  }
  void TearDown() override {
    ca_.reset();
    CardTest::TearDown();
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

  // Holds the writer busy until release(): jobs queued meanwhile run together in the next batch.
  void hold_writer() {
    release_ = std::promise<void>();
    held_ = writer_->enqueue({[f = release_.get_future().share()](store::Connection&) {
      f.wait();
      return Status::ok();
    }});
    wait_queued(0);  // the writer has taken the holding job
  }
  void release() {
    release_.set_value();
    held_.wait();
  }
  // Polls (generously bounded) until `n` jobs wait in the writer's queue.
  void wait_queued(size_t n) {
    for (int i = 0; i < 10000 && writer_->queued() != n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(writer_->queued(), n);
  }

  int64_t good_certificates_of_card(const std::string& card_id) {
    return count("SELECT COUNT(*) FROM pki_certificates WHERE card_id = '" + card_id +
                 "' AND revoked_at IS NULL AND not_after >= " + std::to_string(now_.load()));
  }

  std::atomic<int64_t> now_{0};
  std::unique_ptr<CertificateAuthority> ca_;
  std::promise<void> release_;
  store::Writer::Ticket held_;
};

}  // namespace jlis::pki::testing
