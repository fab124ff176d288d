// Linkage codes (linkage/codes.h, issue 11 §1): each body its own code for a person, the same on
// every ask, kept across a resident-code change and a restart; different under another key (so no
// code can be computed from a resident code without the platform's key); converted between bodies
// only through the platform; made once under concurrent asks. On SQLite and PostgreSQL.
#include <filesystem>
#include <set>
#include <thread>

#include "../pki/test_ca.h"
#include "linkage/platform.h"
#include "linkage_world.h"
#include "numbering/numbering.h"
#include "registry/registry.h"

namespace jlis::linkage {
namespace {

class LinkageCodesTest : public testing::LinkageWorld {
 protected:
  void SetUp() override {
    LinkageWorld::SetUp();
    key_ = pki::testing::make_key();
    codes_ = std::make_unique<LinkageCodes>(*pool_, *writer_, key_.get());
    nenkin_ = add_body(BodyKind::pension_service, "日本年金機構", testing::kPension);
    city_ = add_body(BodyKind::municipality, "千代田区", testing::kChiyoda);
  }
  std::string code(const std::string& body, uint64_t resident) {
    auto out = codes_->code_for(body, ResidentCode::from_body(resident));
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : "";
  }

  pki::EvpPkeyPtr key_;
  std::unique_ptr<LinkageCodes> codes_;
  std::string nenkin_, city_;  // registered bodies' ids
};

// Rule: a body's code for a person is 32 hex digits, the same on every ask; two bodies' codes for
// the same person differ, as do one body's codes for two persons; neither contains the resident code.
TEST_F(LinkageCodesTest, EachBodyHasItsOwnStableCodeForAPerson) {
  const std::string pension = code(nenkin_, 1234567);
  const std::string city = code(city_, 1234567);
  ASSERT_EQ(pension.size(), 32u);
  EXPECT_EQ(pension.find_first_not_of("0123456789abcdef"), std::string::npos) << pension;
  EXPECT_EQ(code(nenkin_, 1234567), pension);
  EXPECT_NE(city, pension);
  EXPECT_NE(code(nenkin_, 7654321), pension);
  const std::string rc = ResidentCode::from_body(1234567).str();
  EXPECT_EQ(pension.find(rc), std::string::npos);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_persons"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_codes"), 3);
}

// Rule: the codes come from the platform's key: another key gives every body other codes for the
// same people, so nobody can compute a code from a resident code without it; a restart with the
// same key answers the recorded codes.
TEST_F(LinkageCodesTest, TheCodesDependOnThePlatformsKeyAndSurviveARestart) {
  const std::string pension = code(nenkin_, 1234567);
  codes_ = std::make_unique<LinkageCodes>(*pool_, *writer_, key_.get());
  EXPECT_EQ(code(nenkin_, 1234567), pension);
  // Another platform (another key, another store) for the same person and body.
  pki::EvpPkeyPtr other_key = pki::testing::make_key();
  store::testing::TestStore other_store;
  auto other_db = std::shared_ptr<store::Database>(other_store.open_data_dir((tmp_ / "other").string()).value());
  {
    auto conn = other_db->connect().value();
    ASSERT_TRUE(LinkageCodes::migrate(*conn).is_ok());
    ASSERT_TRUE(Bodies::migrate(*conn).is_ok());
    ASSERT_TRUE(conn->execute("INSERT INTO linkage_bodies (body_id, kind, name, code, registered_at, active) VALUES "
                              "(?, 'pension-service', '日本年金機構', ?, '2026-01-01T00:00:00Z', 1)",
                              {nenkin_, testing::kPension})
                    .ok());
  }
  store::Pool other_pool(other_db);
  auto other_writer = store::Writer::start(*other_db).value();
  LinkageCodes other(other_pool, *other_writer, other_key.get());
  auto elsewhere = other.code_for(nenkin_, ResidentCode::from_body(1234567));
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status().to_string();
  EXPECT_NE(*elsewhere, pension);
}

// Rule: a resident-code change moves the person's anchor: every body keeps its code, and the old
// resident code, if it ever came back, would be a new person.
TEST_F(LinkageCodesTest, AResidentCodeChangeKeepsEveryBodysCode) {
  const std::string pension = code(nenkin_, 1234567);
  const std::string city = code(city_, 1234567);
  ASSERT_TRUE(writer_
                  ->run([](store::Connection& conn) {
                    return LinkageCodes::move_resident(conn, ResidentCode::from_body(1234567),
                                                       ResidentCode::from_body(2222222));
                  })
                  .is_ok());
  EXPECT_EQ(code(nenkin_, 2222222), pension);
  EXPECT_EQ(code(city_, 2222222), city);
  EXPECT_EQ(codes_->resident_of(nenkin_, pension).value(), ResidentCode::from_body(2222222));
  EXPECT_NE(code(nenkin_, 1234567), pension);
}

// Rule: the platform converts one body's code to another's (the same person), and refuses a code
// the body does not have, a malformed code and a malformed body id.
TEST_F(LinkageCodesTest, ConversionGoesThroughThePlatformOnly) {
  const std::string pension = code(nenkin_, 1234567);
  const std::string city = code(city_, 1234567);
  EXPECT_EQ(codes_->convert(nenkin_, pension, city_).value(), city);
  EXPECT_EQ(codes_->convert(city_, city, nenkin_).value(), pension);
  // The pension service's code means nothing to the city: it is not the city's code.
  EXPECT_EQ(codes_->convert(city_, pension, nenkin_).status().code(), Code::not_found);
  EXPECT_EQ(codes_->convert(nenkin_, "not-a-code", city_).status().code(), Code::invalid_argument);
  EXPECT_EQ(codes_->code_for("Nenkin Kikou", ResidentCode::from_body(1)).status().code(), Code::invalid_argument);
  // A new body's code is made on conversion, for that body only.
  const std::string school =
      codes_->convert(nenkin_, pension, add_body(BodyKind::municipality, "八王子市", testing::kHachioji)).value();
  EXPECT_NE(school, pension);
  EXPECT_NE(school, city);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_codes"), 3);
}

// Rule: codes are made and answered only for registered, active bodies: none for an unregistered
// body id (not_found), none once a body is removed (permission_denied, also for a code it had), and
// a refused ask writes nothing.
TEST_F(LinkageCodesTest, CodesAreOnlyForRegisteredActiveBodies) {
  const std::string pension = code(nenkin_, 1234567);
  EXPECT_EQ(codes_->code_for("municipality-999999", ResidentCode::from_body(1234567)).status().code(), Code::not_found);
  EXPECT_EQ(codes_->convert(nenkin_, pension, "municipality-999999").status().code(), Code::not_found);
  ASSERT_TRUE(bodies_->remove(city_, "test").is_ok());
  EXPECT_EQ(codes_->code_for(city_, ResidentCode::from_body(1234567)).status().code(), Code::permission_denied);
  ASSERT_TRUE(bodies_->remove(nenkin_, "test").is_ok());
  EXPECT_EQ(codes_->code_for(nenkin_, ResidentCode::from_body(1234567)).status().code(), Code::permission_denied);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_codes"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_persons"), 1);
}

// Rule: a body first learns a person's code by the My Number it holds: the answer is the body's
// code (never the resident code), the registry's provision of the resident code to the platform is
// recorded first (on the person's provision list, naming the body), and a ministry, which holds no My
// Numbers, or a number never issued, gets nothing and records nothing.
TEST_F(LinkageCodesTest, ABodyGetsItsCodeByTheMyNumberAndTheProvisionIsRecorded) {
  auto conn = db_->connect().value();
  ASSERT_TRUE(registry::Registry::migrate(*conn).is_ok());
  ASSERT_TRUE(numbering::Numbering::migrate(*conn).is_ok());
  ASSERT_TRUE(numbering::Numbering::create_key_file(tmp_.string()).is_ok());
  auto numbering = numbering::Numbering::open(tmp_.string()).value();
  auto reference = ReferenceData::load(JLIS_REFERENCE_DIR).value();
  registry::Registry registry(*pool_, *writer_, reference, numbering.get());
  registry::ChangeEvent birth;
  birth.event_id = "b1";
  birth.type = registry::EventType::birth;
  birth.date = Date::today().add_days(-30);
  birth.person = registry::Person{"山田　花子", "ヤマダ　ハナコ", birth.date, registry::Sex::female,
                                  "東京都千代田区丸の内一丁目1番1号"};
  auto born = registry.submit(LocalGovernmentCode::parse(testing::kChiyoda).value(), birth);
  ASSERT_TRUE(born.ok()) << born.status().to_string();
  const registry::Resident person = born->resident;
  ASSERT_TRUE(person.my_number.has_value());

  auto code = codes_->code_by_my_number(registry, nenkin_, *person.my_number, "req-1");
  ASSERT_TRUE(code.ok()) << code.status().to_string();
  EXPECT_EQ(*code, codes_->code_for(nenkin_, person.resident_code).value());
  EXPECT_EQ(code->find(person.resident_code.str()), std::string::npos);
  auto provisions = registry.provisions(person.resident_code).value();
  ASSERT_EQ(provisions.size(), 1u);
  EXPECT_EQ(provisions[0].agency_id, kLinkagePlatformAgency);
  EXPECT_EQ(provisions[0].purpose, "linkage code for " + nenkin_);
  EXPECT_EQ(provisions[0].request_id, "req-1");

  const std::string ministry = add_body(BodyKind::ministry, "厚生労働省", testing::kMhlw);
  EXPECT_EQ(codes_->code_by_my_number(registry, ministry, *person.my_number, "req-2").status().code(),
            Code::permission_denied);
  EXPECT_EQ(codes_->code_by_my_number(registry, city_, MyNumber::from_body(12345678901), "req-3").status().code(),
            Code::not_found);
  EXPECT_EQ(registry.provisions(person.resident_code).value().size(), 1u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_codes"), 1);
}

// Rule: eight concurrent first asks for one person and body make one anchor and one code, and
// every ask answers it.
TEST_F(LinkageCodesTest, ConcurrentFirstAsksMakeOneCode) {
  std::vector<std::string> answers(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < answers.size(); ++i)
    threads.emplace_back([&, i] { answers[i] = code(nenkin_, 42); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(answers.begin(), answers.end()).size(), 1u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_persons"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_codes"), 1);
}

// Rule (platform.h): the code key is made in the key store by the first code, not when the platform
// opens: a platform that makes no code leaves the store without a key; eight concurrent first asks
// make one key file and one code; a platform opened later loads that key (the same public key, the
// same codes); and a wrong passphrase fails when the platform opens, not at its first code.
TEST_F(LinkageCodesTest, TheCodeKeyIsMadeByTheFirstCodeOnceAndLoadedAfter) {
  const std::filesystem::path key_dir = tmp_ / "keys";
  auto key_store = [&](const std::string& passphrase) {
    pki::KeyStoreConfig config;
    config.directory = key_dir.string();
    config.passphrase = passphrase;
    return pki::KeyStore::open(config).value();
  };
  auto key_files = [&] {
    size_t n = 0;
    for (const auto& f : std::filesystem::directory_iterator(key_dir)) n += f.path().extension() == ".pem";
    return n;
  };
  auto keys = key_store("linkage test passphrase");
  auto platform = Platform::open(*pool_, *writer_, *directory_, *keys);
  ASSERT_TRUE(platform.ok()) << platform.status().to_string();
  EXPECT_EQ(key_files(), 0u) << "opening makes no key";

  std::vector<std::string> answers(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < answers.size(); ++i)
    threads.emplace_back(
        [&, i] { answers[i] = (*platform)->codes().code_for(nenkin_, ResidentCode::from_body(77)).value(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(answers.begin(), answers.end()).size(), 1u);
  EXPECT_EQ(key_files(), 1u);
  const std::string fingerprint = (*platform)->code_key_fingerprint().value();

  auto reopened_keys = key_store("linkage test passphrase");
  auto reopened = Platform::open(*pool_, *writer_, *directory_, *reopened_keys);
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  EXPECT_EQ((*reopened)->code_key_fingerprint().value(), fingerprint);
  EXPECT_EQ((*reopened)->codes().code_for(nenkin_, ResidentCode::from_body(77)).value(), answers[0]);
  EXPECT_EQ(key_files(), 1u);

  auto mistyped_keys = key_store("not the passphrase at all");
  EXPECT_EQ(Platform::open(*pool_, *writer_, *directory_, *mistyped_keys).status().code(), Code::permission_denied);
}

}  // namespace
}  // namespace jlis::linkage
