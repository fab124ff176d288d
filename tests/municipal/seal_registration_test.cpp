// 印鑑登録: the seal register of each municipality (municipal/seal_registration.h).
#include "municipal/seal_registration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

#include "../registry/fixture.h"
#include "common/digest.h"
#include "municipal/seal_image.h"
#include "pki/openssl.h"

// A namespace of its own: test_municipal is a unity build, and these helpers must not meet the
// other files' ones.
namespace jlis::municipal::seal_registration_test {
namespace {

using registry::ChangeEvent;
using registry::EventType;
using registry::Resident;
using registry::Sex;

const LocalGovernmentCode& chiyoda() { return registry::testing::kChiyoda; }
const LocalGovernmentCode& chuo() { return registry::testing::kChuo; }
constexpr const char* kSealChiyodaAddress = registry::testing::kChiyodaAddress;
constexpr const char* kSealChuoAddress = registry::testing::kChuoAddress;

class SealRegistrationTest : public registry::testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    auto conn = db_->connect().value();
    Status migrated = SealRegistrations::migrate(*conn);
    ASSERT_TRUE(migrated.is_ok()) << migrated.to_string();
    seals_ = std::make_unique<SealRegistrations>(*pool_, *writer_, *registry_, [this] { return today_; });
    seals_->attach();
  }
  void TearDown() override {
    seals_.reset();
    RegistryTest::TearDown();
  }

  // A resident born on `born` (by default 40 years ago), registered by `in`.
  Resident person(const std::string& id, const char* name, std::optional<Date> born = std::nullopt,
                  const LocalGovernmentCode& in = registry::testing::kChiyoda,
                  const char* address = kSealChiyodaAddress) {
    ChangeEvent e;
    e.event_id = id;
    e.type = EventType::birth;
    e.date = born.value_or(today_.add_years(-40));
    e.person = registry::Person{name, "ヤマダ　タロウ", e.date, Sex::male, address};
    auto r = registry_->submit(in, e);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->resident : Resident{};
  }
  static std::string impression(const char* name) {
    auto png = generated_seal_impression(name);
    EXPECT_TRUE(png.ok()) << png.status().to_string();
    return png.ok() ? *png : std::string();
  }
  static SealRegistrationRequest request(const std::string& id, const Resident& r, std::string png) {
    SealRegistrationRequest q;
    q.request_id = id;
    q.resident_code = r.resident_code;
    q.impression_png = std::move(png);
    return q;
  }
  static SealAbolitionRequest abolition(const std::string& id, const Resident& r,
                                        SealAbolitionReason reason = SealAbolitionReason::request) {
    SealAbolitionRequest q;
    q.request_id = id;
    q.resident_code = r.resident_code;
    q.reason = reason;
    return q;
  }
  ChangeEvent registry_event(const std::string& id, EventType type, Date when, const Resident& r) {
    ChangeEvent e;
    e.event_id = id;
    e.type = type;
    e.date = when;
    e.resident_code = r.resident_code;
    return e;
  }
  SealCertifiability check(const Resident& r, const LocalGovernmentCode& in = registry::testing::kChiyoda) {
    auto c = seals_->certifiable(in, r.resident_code);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    return c.ok() ? *c : SealCertifiability{};
  }
  // The refusal's code, or "certifiable".
  std::string verdict(const Resident& r) {
    SealCertifiability c = check(r);
    return c.refusal ? std::string(seal_refusal_code(*c.refusal)) : "certifiable";
  }
  std::vector<SealRegistration> history_of(const Resident& r) {
    auto h = seals_->history(chiyoda(), r.resident_code);
    EXPECT_TRUE(h.ok()) << h.status().to_string();
    return h.ok() ? *h : std::vector<SealRegistration>{};
  }

  Date today_ = Date::today();
  std::unique_ptr<SealRegistrations> seals_;
};

TEST_F(SealRegistrationTest, RegistersAResidentsSealUnderTheMunicipalitysNextNumberAndCertifiesIt) {
  Resident taro = person("b1", "山田　太郎");
  Resident hanako = person("b2", "佐藤　花子");
  const std::string png = impression("山田　太郎");
  auto first = seals_->register_seal(chiyoda(), request("r1", taro, png));
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_FALSE(first->replay);
  EXPECT_EQ(first->registration.registration_number, 1);
  EXPECT_EQ(first->registration.status, SealStatus::active);
  EXPECT_EQ(first->registration.registered_on, today_);
  EXPECT_EQ(first->registration.resident_code, taro.resident_code);
  EXPECT_EQ(first->registration.impression_sha256, sha256_hex(png));
  EXPECT_TRUE(first->registration.impression_png.empty());  // answers never carry the bytes

  auto second = seals_->register_seal(chiyoda(), request("r2", hanako, impression("佐藤　花子")));
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(second->registration.registration_number, 2);
  // Numbers are per municipality: 中央区 starts at 1.
  Resident ginza = person("c1", "鈴木　一", std::nullopt, chuo(), kSealChuoAddress);
  auto chuo_first = seals_->register_seal(chuo(), request("r1", ginza, impression("鈴木　一")));
  ASSERT_TRUE(chuo_first.ok()) << chuo_first.status().to_string();
  EXPECT_EQ(chuo_first->registration.registration_number, 1);

  SealCertifiability c = check(taro);
  ASSERT_TRUE(c.certifiable());
  EXPECT_EQ(c.seal.registration_number, 1);
  EXPECT_EQ(c.seal.impression_png, png);  // the certificate gets the registered bytes
  EXPECT_EQ(c.seal.registered_on, today_);
  auto got = seals_->get(chiyoda(), 1);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->impression_png, png);
  EXPECT_EQ(seals_->get(chiyoda(), 3).status().code(), Code::not_found);
}

TEST_F(SealRegistrationTest, NoSealIsRegisteredUnder15NorForAnAdultUnderGuardianship) {
  Resident almost = person("b1", "山田　次郎", today_.add_years(-15).add_days(1));  // 15 tomorrow
  Resident fifteen = person("b2", "山田　三郎", today_.add_years(-15));               // 15 today
  auto refused = seals_->register_seal(chiyoda(), request("r1", almost, impression("山田　次郎")));
  EXPECT_EQ(refused.status().code(), Code::conflict) << refused.status().to_string();
  EXPECT_EQ(verdict(almost), "no_seal");
  auto accepted = seals_->register_seal(chiyoda(), request("r2", fifteen, impression("山田　三郎")));
  EXPECT_TRUE(accepted.ok()) << accepted.status().to_string();

  Resident adult = person("b3", "山田　四郎");
  SealRegistrationRequest guarded = request("r3", adult, impression("山田　四郎"));
  guarded.under_guardianship = true;
  EXPECT_EQ(seals_->register_seal(chiyoda(), guarded).status().code(), Code::conflict);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_registrations"), 1);
}

TEST_F(SealRegistrationTest, ASecondActiveSealIsRefusedUntilTheFirstIsAbolished) {
  Resident taro = person("b1", "山田　太郎");
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, impression("山田　太郎"))).ok());
  auto second = seals_->register_seal(chiyoda(), request("r2", taro, impression("山田")));
  EXPECT_EQ(second.status().code(), Code::conflict) << second.status().to_string();
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_registrations"), 1);

  auto abolished = seals_->abolish(chiyoda(), abolition("a1", taro));
  ASSERT_TRUE(abolished.ok()) << abolished.status().to_string();
  EXPECT_EQ(abolished->registration.status, SealStatus::abolished);
  EXPECT_EQ(abolished->registration.abolition_reason, SealAbolitionReason::request);
  EXPECT_EQ(abolished->registration.abolished_on, today_);
  auto again = seals_->register_seal(chiyoda(), request("r3", taro, impression("山田")));
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->registration.registration_number, 2);
  EXPECT_EQ(check(taro).seal.registration_number, 2);
}

TEST_F(SealRegistrationTest, RegistrationsRacingForOnePersonLeaveOneActiveSeal) {
  Resident taro = person("b1", "山田　太郎");
  const std::string png = impression("山田　太郎");
  // The check runs in the writer's transaction: of many windows submitting at once, one wins.
  constexpr int kWindows = 8;
  std::vector<std::thread> windows;
  std::vector<Code> outcomes(kWindows);
  for (int i = 0; i < kWindows; ++i)
    windows.emplace_back([&, i] {
      outcomes[i] = seals_->register_seal(chiyoda(), request("w" + std::to_string(i), taro, png)).status().code();
    });
  for (auto& t : windows) t.join();
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), Code::ok), 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), Code::conflict), kWindows - 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_registrations"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_requests"), 1);
}

TEST_F(SealRegistrationTest, TheDatabaseItselfRefusesASecondActiveSeal) {
  Resident taro = person("b1", "山田　太郎");
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, impression("山田　太郎"))).ok());
  // Behind the check: the partial unique index, should any code path ever skip it.
  Status s = writer_->run([&](store::Connection& conn) {
    return conn
        .execute("INSERT INTO municipal_seal_registrations (municipality_code, registration_number, resident_code, "
                 "status, registered_on, impression_sha256) VALUES (?, 2, ?, 'active', ?, '')",
                 {chuo().str(), static_cast<int64_t>(taro.resident_code.body()), today_.to_iso()})
        .status();
  });
  EXPECT_EQ(s.code(), Code::conflict) << s.to_string();
  // An abolished row without its date or reason is refused too.
  s = writer_->run([&](store::Connection& conn) {
    return conn
        .execute("UPDATE municipal_seal_registrations SET status = 'abolished' WHERE registration_number = 1")
        .status();
  });
  EXPECT_EQ(s.code(), Code::conflict) << s.to_string();
  EXPECT_EQ(verdict(taro), "certifiable");
}

TEST_F(SealRegistrationTest, CertifiableReadsTheCallersTransaction) {
  Resident taro = person("b1", "山田　太郎");
  const std::string png = impression("山田　太郎");
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, png)).ok());
  // As the issuance will: the check and its own write in one writer transaction; an abolition made
  // earlier in that transaction is seen.
  auto seen = store::run_for<std::string>(
      *writer_, [&](store::Connection& conn) -> Result<std::string> {
        JLIS_ASSIGN_OR_RETURN(SealCertifiability before, seals_->certifiable(conn, chiyoda(), taro.resident_code));
        if (!before.certifiable() || before.seal.impression_png != png) return internal_error("not the seal");
        JLIS_RETURN_IF_ERROR(conn.execute("UPDATE municipal_seal_registrations SET status = 'abolished', "
                                          "abolished_on = ?, abolition_reason = 'ex_officio'",
                                          {today_.to_iso()})
                                 .status());
        JLIS_ASSIGN_OR_RETURN(SealCertifiability after, seals_->certifiable(conn, chiyoda(), taro.resident_code));
        if (after.certifiable()) return internal_error("an abolished seal was certifiable");
        return std::string(seal_refusal_code(*after.refusal));
      });
  ASSERT_TRUE(seen.ok()) << seen.status().to_string();
  EXPECT_EQ(*seen, "seal_abolished");
}

// Rule: an impression image is stored once under its SHA-256, however many registrations name it,
// and each registration reads back its own bytes.
TEST_F(SealRegistrationTest, AnImpressionIsStoredOnceHoweverManyRegistrationsNameIt) {
  Resident taro = person("b1", "山田　太郎");
  Resident jiro = person("b2", "山田　次郎");
  Resident hanako = person("b3", "佐藤　花子");
  const std::string yamada = impression("山田"), sato = impression("佐藤");
  ASSERT_NE(yamada, sato);
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, yamada)).ok());
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r2", jiro, yamada)).ok());
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r3", hanako, sato)).ok());
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_registrations"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_impressions"), 2);
  for (int64_t number : {1, 2, 3}) {
    auto got = seals_->get(chiyoda(), number);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(got->impression_png, number == 3 ? sato : yamada) << number;
  }
}

TEST_F(SealRegistrationTest, AChangeAbolishesTheOldNumberAndOnlyTheNewIsCertified) {
  Resident taro = person("b1", "山田　太郎");
  const std::string old_png = impression("山田　太郎");
  const std::string new_png = impression("山");
  ASSERT_NE(old_png, new_png);
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, old_png)).ok());
  auto changed = seals_->change(chiyoda(), request("c1", taro, new_png));
  ASSERT_TRUE(changed.ok()) << changed.status().to_string();
  EXPECT_EQ(changed->registration.registration_number, 2);
  EXPECT_EQ(changed->registration.replaces, 1);
  EXPECT_EQ(changed->registration.status, SealStatus::active);

  std::vector<SealRegistration> h = history_of(taro);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].registration_number, 1);
  EXPECT_EQ(h[0].status, SealStatus::abolished);
  EXPECT_EQ(h[0].abolition_reason, SealAbolitionReason::changed);
  EXPECT_EQ(h[0].abolished_on, today_);
  EXPECT_EQ(h[0].replaced_by, 2);
  EXPECT_EQ(h[1].status, SealStatus::active);

  SealCertifiability c = check(taro);
  ASSERT_TRUE(c.certifiable());
  EXPECT_EQ(c.seal.registration_number, 2);
  EXPECT_EQ(c.seal.impression_png, new_png);
  // The old card's number abolishes nothing any more.
  SealAbolitionRequest old_card = abolition("a1", taro);
  old_card.registration_number = 1;
  EXPECT_EQ(seals_->abolish(chiyoda(), old_card).status().code(), Code::conflict);
  EXPECT_TRUE(check(taro).certifiable());
}

TEST_F(SealRegistrationTest, AChangeNeedsAnActiveSealAndWritesNothingWhenRefused) {
  Resident taro = person("b1", "山田　太郎");
  EXPECT_EQ(seals_->change(chiyoda(), request("c1", taro, impression("山"))).status().code(), Code::conflict);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_registrations"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_requests"), 0);
}

TEST_F(SealRegistrationTest, AnAbolishedSealIsNeverCertifiedAgainNotEvenByARetryOfItsRegistration) {
  Resident taro = person("b1", "山田　太郎");
  const SealRegistrationRequest first = request("r1", taro, impression("山田　太郎"));
  ASSERT_TRUE(seals_->register_seal(chiyoda(), first).ok());
  ASSERT_TRUE(seals_->change(chiyoda(), request("c1", taro, impression("山"))).ok());
  ASSERT_TRUE(seals_->abolish(chiyoda(), abolition("a1", taro, SealAbolitionReason::ex_officio)).ok());
  EXPECT_EQ(verdict(taro), "seal_abolished");

  // The window's retries arrive late: each answers its registration as it is now, abolished.
  auto retry = seals_->register_seal(chiyoda(), first);
  ASSERT_TRUE(retry.ok()) << retry.status().to_string();
  EXPECT_TRUE(retry->replay);
  EXPECT_EQ(retry->registration.registration_number, 1);
  EXPECT_EQ(retry->registration.status, SealStatus::abolished);
  auto change_retry = seals_->change(chiyoda(), request("c1", taro, impression("山")));
  ASSERT_TRUE(change_retry.ok()) << change_retry.status().to_string();
  EXPECT_TRUE(change_retry->replay);
  EXPECT_EQ(change_retry->registration.status, SealStatus::abolished);
  EXPECT_EQ(verdict(taro), "seal_abolished");
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_registrations"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_registrations WHERE status = 'active'"), 0);
  // Abolishing again is conflict: nothing is active.
  EXPECT_EQ(seals_->abolish(chiyoda(), abolition("a2", taro)).status().code(), Code::conflict);
}

TEST_F(SealRegistrationTest, DeathAbolishesTheSealInTheRegistersOwnEvent) {
  Resident taro = person("b1", "山田　太郎");
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, impression("山田　太郎"))).ok());
  const Date died = today_.add_days(-2);
  auto event = registry_->submit(chiyoda(), registry_event("d1", EventType::death, died, taro));
  ASSERT_TRUE(event.ok()) << event.status().to_string();
  std::vector<SealRegistration> h = history_of(taro);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].status, SealStatus::abolished);
  EXPECT_EQ(h[0].abolition_reason, SealAbolitionReason::death);
  EXPECT_EQ(h[0].abolished_on, died);
  EXPECT_EQ(verdict(taro), "not_resident");
  EXPECT_EQ(seals_->register_seal(chiyoda(), request("r2", taro, impression("山田"))).status().code(), Code::conflict);
}

TEST_F(SealRegistrationTest, MovingOutAbolishesTheSealInTheRegistersOwnEventAbroadToo) {
  Resident taro = person("b1", "山田　太郎");
  Resident hanako = person("b2", "山田　花子");
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, impression("山田　太郎"))).ok());
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r2", hanako, impression("山田　花子"))).ok());
  ChangeEvent out = registry_event("o1", EventType::move_out, today_, taro);
  out.to = chuo().str();
  ASSERT_TRUE(registry_->submit(chiyoda(), out).ok());
  ChangeEvent abroad = registry_event("o2", EventType::move_out, today_, hanako);
  abroad.to = "abroad";
  abroad.address_abroad = "Singapore";
  ASSERT_TRUE(registry_->submit(chiyoda(), abroad).ok());
  for (const Resident* r : {&taro, &hanako}) {
    std::vector<SealRegistration> h = history_of(*r);
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0].abolition_reason, SealAbolitionReason::move_out);
    EXPECT_EQ(verdict(*r), "not_resident");
  }

  // Completed in 中央区, the person has no seal there until registering one.
  ChangeEvent in = registry_event("i1", EventType::move_in, today_, taro);
  in.from = chiyoda().str();
  in.address = kSealChuoAddress;
  in.name = taro.person.name;
  in.date_of_birth = taro.person.date_of_birth;
  in.sex = taro.person.sex;
  auto moved = registry_->submit(chuo(), in);
  ASSERT_TRUE(moved.ok()) << moved.status().to_string();
  auto there = seals_->certifiable(chuo(), taro.resident_code);
  ASSERT_TRUE(there.ok()) << there.status().to_string();
  EXPECT_EQ(there->refusal, SealRefusal::no_seal);
  EXPECT_TRUE(seals_->register_seal(chuo(), request("r1", taro, impression("山田　太郎"))).ok());
  // 千代田区 keeps its history of the person who left, and only it.
  EXPECT_EQ(history_of(taro).size(), 1u);
  EXPECT_EQ(seals_->certifiable(chiyoda(), taro.resident_code).status().code(), Code::not_found);
}

TEST_F(SealRegistrationTest, ARefusedRegisterEventLeavesTheSealAsItWas) {
  Resident taro = person("b1", "山田　太郎");
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, impression("山田　太郎"))).ok());
  // A component after this one refuses the death: the whole event goes, the abolition with it.
  registry_->add_listener([](store::Connection&, const ChangeEvent& e, const std::optional<Resident>&,
                             const Resident&) -> Status {
    return e.event_id == "d1" ? conflict("refused by a later listener") : Status::ok();
  });
  auto refused = registry_->submit(chiyoda(), registry_event("d1", EventType::death, today_, taro));
  EXPECT_EQ(refused.status().code(), Code::conflict) << refused.status().to_string();
  EXPECT_EQ(verdict(taro), "certifiable");
  EXPECT_EQ(history_of(taro)[0].status, SealStatus::active);
  auto died = registry_->submit(chiyoda(), registry_event("d2", EventType::death, today_, taro));
  ASSERT_TRUE(died.ok()) << died.status().to_string();
  EXPECT_EQ(history_of(taro)[0].status, SealStatus::abolished);
}

TEST_F(SealRegistrationTest, AnotherMunicipalitysResidentGetsTheUnknownResidentAnswer) {
  Resident taro = person("b1", "山田　太郎");
  const std::string unknown_message = registry::unknown_resident().message();
  auto reg = seals_->register_seal(chuo(), request("r1", taro, impression("山田　太郎")));
  EXPECT_EQ(reg.status().code(), Code::not_found);
  EXPECT_EQ(reg.status().message(), unknown_message);
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, impression("山田　太郎"))).ok());
  for (const auto& s : {seals_->certifiable(chuo(), taro.resident_code).status(),
                        seals_->history(chuo(), taro.resident_code).status(),
                        seals_->change(chuo(), request("c1", taro, impression("山"))).status(),
                        seals_->abolish(chuo(), abolition("a1", taro)).status()}) {
    EXPECT_EQ(s.code(), Code::not_found);
    EXPECT_EQ(s.message(), unknown_message);
  }
  // An unknown code: the same answer.
  Resident nobody = taro;
  nobody.resident_code = ResidentCode::from_body(taro.resident_code.body() ^ 1);
  auto unknown = seals_->register_seal(chiyoda(), request("r2", nobody, impression("山田")));
  EXPECT_EQ(unknown.status().code(), Code::not_found);
  EXPECT_EQ(unknown.status().message(), unknown_message);
  EXPECT_EQ(seals_->get(chuo(), 1).status().code(), Code::not_found);
  EXPECT_EQ(verdict(taro), "certifiable");
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_requests"), 1);
}

TEST_F(SealRegistrationTest, ARetryAnswersAsTheFirstTimeAndAKeyReusedForAnotherRequestIsConflict) {
  Resident taro = person("b1", "山田　太郎");
  Resident hanako = person("b2", "山田　花子");
  const SealRegistrationRequest q = request("r1", taro, impression("山田　太郎"));
  auto first = seals_->register_seal(chiyoda(), q);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  auto again = seals_->register_seal(chiyoda(), q);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_TRUE(again->replay);
  EXPECT_EQ(again->registration.registration_number, first->registration.registration_number);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_registrations"), 1);

  // The key again, for another person, another impression, another kind of request: conflict.
  EXPECT_EQ(seals_->register_seal(chiyoda(), request("r1", hanako, impression("山田　花子"))).status().code(),
            Code::conflict);
  EXPECT_EQ(seals_->register_seal(chiyoda(), request("r1", taro, impression("山"))).status().code(), Code::conflict);
  EXPECT_EQ(seals_->change(chiyoda(), q).status().code(), Code::conflict);
  EXPECT_EQ(seals_->abolish(chiyoda(), abolition("r1", taro)).status().code(), Code::conflict);
  // Even with an invalid impression: the key is looked at first.
  EXPECT_EQ(seals_->register_seal(chiyoda(), request("r1", taro, "not a png")).status().code(), Code::conflict);
  // Another municipality's keys are its own.
  Resident ginza = person("c1", "鈴木　一", std::nullopt, chuo(), kSealChuoAddress);
  EXPECT_TRUE(seals_->register_seal(chuo(), request("r1", ginza, impression("鈴木　一"))).ok());

  auto abolished = seals_->abolish(chiyoda(), abolition("a1", taro));
  ASSERT_TRUE(abolished.ok());
  auto abolished_again = seals_->abolish(chiyoda(), abolition("a1", taro));
  ASSERT_TRUE(abolished_again.ok()) << abolished_again.status().to_string();
  EXPECT_TRUE(abolished_again->replay);
  EXPECT_EQ(abolished_again->registration.registration_number, 1);
  EXPECT_EQ(seals_->abolish(chiyoda(), abolition("a1", taro, SealAbolitionReason::ex_officio)).status().code(),
            Code::conflict);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_requests"), 3);
}

TEST_F(SealRegistrationTest, ABadImpressionIsRefusedAndWritesNothing) {
  Resident taro = person("b1", "山田　太郎");
  const std::string good = impression("山田　太郎");
  std::string truncated = good.substr(0, good.size() / 2);
  std::string corrupt = good;
  corrupt[good.size() / 2] = static_cast<char>(corrupt[good.size() / 2] ^ 0x5a);  // inside the image data
  std::string huge_sides = good;
  huge_sides[17] = '\x7f';  // width 0x007f....: far beyond 4096 pixels
  std::string oversized = good + std::string(kMaxSealImpressionBytes, '\0');
  ASSERT_TRUE(seal_png(personal_seal("山"), 8).status().code() == Code::invalid_argument);  // seal_png's own floor
  auto small = seal_png(personal_seal("山"), 16);
  ASSERT_TRUE(small.ok());
  std::string narrow = *small;
  narrow[19] = '\x0f';  // width 15
  int n = 0;
  for (const std::string& bad : {std::string(), std::string("GIF89a not a png at all"), truncated, corrupt,
                                 huge_sides, oversized, narrow}) {
    auto r = seals_->register_seal(chiyoda(), request("bad" + std::to_string(n++), taro, bad));
    EXPECT_EQ(r.status().code(), Code::invalid_argument) << n << ": " << r.status().to_string();
    EXPECT_EQ(validate_seal_impression(bad).code(), Code::invalid_argument) << n;
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_registrations"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_seal_requests"), 0);
  EXPECT_TRUE(validate_seal_impression(good).is_ok());
  EXPECT_TRUE(validate_seal_impression(*small).is_ok());
  EXPECT_TRUE(seals_->register_seal(chiyoda(), request("bad0", taro, good)).ok());  // the key was not used up
}

TEST_F(SealRegistrationTest, NoSealIsRegisteredForSomeoneWhoMovedOutOrDied) {
  Resident taro = person("b1", "山田　太郎");
  ChangeEvent out = registry_event("o1", EventType::move_out, today_, taro);
  out.to = chuo().str();
  ASSERT_TRUE(registry_->submit(chiyoda(), out).ok());
  EXPECT_EQ(seals_->register_seal(chiyoda(), request("r1", taro, impression("山田　太郎"))).status().code(),
            Code::conflict);
  EXPECT_EQ(verdict(taro), "not_resident");
  // Its history is still its own to read: empty.
  EXPECT_TRUE(history_of(taro).empty());
}

TEST_F(SealRegistrationTest, AbolitionReasonsAreTheWindowsAndANumberMustBeTheActiveOne) {
  Resident taro = person("b1", "山田　太郎");
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, impression("山田　太郎"))).ok());
  EXPECT_EQ(seals_->abolish(chiyoda(), abolition("a1", taro, SealAbolitionReason::changed)).status().code(),
            Code::invalid_argument);
  SealAbolitionRequest wrong = abolition("a2", taro);
  wrong.registration_number = 7;
  EXPECT_EQ(seals_->abolish(chiyoda(), wrong).status().code(), Code::conflict);
  SealAbolitionRequest right = abolition("a3", taro, SealAbolitionReason::ex_officio);
  right.registration_number = 1;
  auto done = seals_->abolish(chiyoda(), right);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->registration.abolition_reason, SealAbolitionReason::ex_officio);
  EXPECT_EQ(seals_->register_seal(chiyoda(), request("", taro, impression("山"))).status().code(),
            Code::invalid_argument);
}

TEST_F(SealRegistrationTest, ANewResidentCodeKeepsTheSealAndItsHistory) {
  Resident taro = person("b1", "山田　太郎");
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, impression("山田　太郎"))).ok());
  auto changed = registry_->submit(chiyoda(), registry_event("k1", EventType::resident_code_change, today_, taro));
  ASSERT_TRUE(changed.ok()) << changed.status().to_string();
  SealCertifiability c = check(changed->resident);
  ASSERT_TRUE(c.certifiable());
  EXPECT_EQ(c.seal.resident_code, changed->resident.resident_code);
  EXPECT_EQ(history_of(changed->resident).size(), 1u);
}

TEST_F(SealRegistrationTest, TheJsonOfARegistrationCarriesTheImpressionOnlyOnRequest) {
  Resident taro = person("b1", "山田　太郎");
  const std::string png = impression("山田　太郎");
  ASSERT_TRUE(seals_->register_seal(chiyoda(), request("r1", taro, png)).ok());
  ASSERT_TRUE(seals_->change(chiyoda(), request("c1", taro, impression("山"))).ok());
  std::vector<SealRegistration> h = history_of(taro);
  ASSERT_EQ(h.size(), 2u);
  nlohmann::json old = to_json(h[0], true);  // asked for, but a listing holds no bytes
  EXPECT_FALSE(old.contains("impression_png"));
  EXPECT_EQ(old["registration_number"], 1);
  EXPECT_EQ(old["municipality_code"], chiyoda().str());
  EXPECT_EQ(old["resident_code"], taro.resident_code.str());
  EXPECT_EQ(old["status"], "abolished");
  EXPECT_EQ(old["registered_on"], today_.to_iso());
  EXPECT_EQ(old["abolished_on"], today_.to_iso());
  EXPECT_EQ(old["abolition_reason"], "changed");
  EXPECT_EQ(old["replaced_by"], 2);
  EXPECT_TRUE(old["replaces"].is_null());
  EXPECT_EQ(old["impression_sha256"], sha256_hex(png));
  auto full = seals_->get(chiyoda(), 1);
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE(to_json(*full).contains("impression_png"));
  nlohmann::json with = to_json(*full, true);
  ASSERT_TRUE(with.contains("impression_png"));
  EXPECT_EQ(pki::base64_decode(with["impression_png"].get<std::string>()).value(), png);
  nlohmann::json active = to_json(h[1]);
  EXPECT_EQ(active["status"], "active");
  EXPECT_TRUE(active["abolished_on"].is_null());
  EXPECT_TRUE(active["abolition_reason"].is_null());
  EXPECT_EQ(active["replaces"], 1);
}

TEST(SealImpression, TheGeneratedImpressionIsTheSurnamesSealAndDeterministic) {
  EXPECT_EQ(surname_of("山田　太郎"), "山田");
  EXPECT_EQ(surname_of("佐々木 健"), "佐々木");
  EXPECT_EQ(surname_of("アリ"), "アリ");
  auto taro = generated_seal_impression("山田　太郎");
  auto hanako = generated_seal_impression("山田　花子");
  auto sato = generated_seal_impression("佐藤　健");
  ASSERT_TRUE(taro.ok() && hanako.ok() && sato.ok());
  EXPECT_EQ(*taro, *hanako);  // the same surname, the same seal, byte for byte
  EXPECT_EQ(*taro, *generated_seal_impression("山田　太郎"));
  EXPECT_NE(*taro, *sato);
  EXPECT_EQ(*taro, seal_png(personal_seal("山田"), kGeneratedSealImpressionPixels).value());
  EXPECT_TRUE(validate_seal_impression(*taro).is_ok());
  EXPECT_LE(taro->size(), kMaxSealImpressionBytes);
  EXPECT_EQ(generated_seal_impression("　太郎").status().code(), Code::invalid_argument);
  EXPECT_EQ(generated_seal_impression("").status().code(), Code::invalid_argument);
}

TEST(SealAbolitionReasonNames, RoundTrip) {
  for (auto reason : {SealAbolitionReason::request, SealAbolitionReason::death, SealAbolitionReason::move_out,
                      SealAbolitionReason::ex_officio, SealAbolitionReason::changed})
    EXPECT_EQ(parse_seal_abolition_reason(seal_abolition_reason_name(reason)).value(), reason);
  EXPECT_EQ(parse_seal_abolition_reason("lost").status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace jlis::municipal::seal_registration_test
