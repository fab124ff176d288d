// The municipal issuance server: each of the six documents from the records, every refusal, and the
// issuance log. Read back with poppler's pdftotext, as a person reading the document would.
#include "municipal/issuance.h"

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <iterator>

#include "documents.h"
#include "koseki_fixture.h"
#include "municipal/household.h"
#include "municipal/seal_registration.h"
#include "municipal/tax.h"
#include "municipal/verification.h"
#include "pki/openssl.h"
#include "pki/pdf_signature.h"

namespace jlis::municipal {
namespace {

using koseki_testing::years_ago;
using registry::ChangeEvent;
using registry::EventType;
using registry::HouseholdPlacement;
using registry::Resident;
using registry::Sex;
using registry::testing::kChiyoda;
using registry::testing::kChuo;

class IssuanceTest : public koseki_testing::KosekiTest {
 protected:
  void SetUp() override {
    KosekiTest::SetUp();
    auto conn = db_->connect().value();
    ASSERT_TRUE(Households::migrate(*conn).is_ok());
    ASSERT_TRUE(SealRegistrations::migrate(*conn).is_ok());
    ASSERT_TRUE(TaxRecords::migrate(*conn).is_ok());
    ASSERT_TRUE(IssuanceServer::migrate(*conn).is_ok());
    households_ = std::make_unique<Households>(*pool_, *writer_, *registry_);
    households_->attach();
    seals_ = std::make_unique<SealRegistrations>(*pool_, *writer_, *registry_);
    seals_->attach();
    auto server = IssuanceServer::open(dir_.string(), JLIS_REFERENCE_DIR, *pool_, *writer_, *registry_, *households_,
                                       *seals_);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(*server);
    family();
  }
  void TearDown() override {
    server_.reset();
    seals_.reset();
    households_.reset();
    KosekiTest::TearDown();
  }

  // 山田太郎 (head), 山田花子 (妻), 山田一郎 (子) of 千代田区, in a register of 千代田区, with a seal
  // and a tax record for the husband.
  void family() {
    taro_ = born("t", "山田　太郎", "ヤマダ　タロウ", 48, Sex::male, std::nullopt);
    hanako_ = born("h", "山田　花子", "ヤマダ　ハナコ", 46, Sex::female, HouseholdPlacement{taro_.resident_code, "妻"});
    ichiro_ = born("i", "山田　一郎", "ヤマダ　イチロウ", 16, Sex::male, HouseholdPlacement{taro_.resident_code, "子"});
    register_id_ = yamada();
    ASSERT_TRUE(link({register_id_, 1}, taro_, years_ago(20), "link-t").ok());
    ASSERT_TRUE(link({register_id_, 2}, hanako_, years_ago(20), "link-h").ok());
    auto seal = seals_->register_seal(kChiyoda, {"seal-t", taro_.resident_code,
                                                 generated_seal_impression(taro_.person.name).value(), false});
    ASSERT_TRUE(seal.ok()) << seal.status().to_string();
    IncomeDeclaration d;
    d.fiscal_year = kLastTaxYear - 1;
    d.age = 47;
    d.salary_revenue = 5'000'000;
    d.social_insurance_premiums = 700'000;
    auto a = assess(d, false);
    ASSERT_TRUE(a.ok());
    Status recorded = writer_->run([&](store::Connection& c) {
      return TaxRecords::record(c, {taro_.resident_code, d.fiscal_year, kChiyoda, d, *a, ""});
    });
    ASSERT_TRUE(recorded.is_ok()) << recorded.to_string();
    assessment_ = *a;
  }

  Resident born(const std::string& id, const char* name, const char* kana, int age, Sex sex,
                std::optional<HouseholdPlacement> placement, const LocalGovernmentCode& where = kChiyoda,
                const char* address = registry::testing::kChiyodaAddress) {
    ChangeEvent e;
    e.event_id = id;
    e.type = EventType::birth;
    e.date = years_ago(age);
    e.person = registry::Person{name, kana, e.date, sex, address};
    e.household = std::move(placement);
    auto r = registry_->submit(where, e);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->resident : Resident{};
  }

  IssuanceRequest request(DocumentType type, const Resident& who, const std::string& channel = "kiosk") {
    IssuanceRequest r;
    r.type = type;
    r.applicant = who.resident_code;
    r.channel = channel;
    r.session = channel == "kiosk" ? "session-1" : "";
    return r;
  }
  IssuanceOutcome issue(const IssuanceRequest& r, const LocalGovernmentCode& by = kChiyoda) {
    auto out = server_->issue(by, r);
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : IssuanceOutcome{};
  }
  // The document's text, as pdftotext -layout reads it, runs of spaces folded to one.
  std::string text_of(const IssuedDocument& doc) {
    const std::string path = dir_.string() + "/doc.pdf";
    std::ofstream(path, std::ios::binary) << doc.pdf;
    auto out = testing::run("pdftotext -layout " + path + " - 2>/dev/null");
    EXPECT_EQ(out.exit_code, 0);
    std::string folded;
    for (char c : out.text) {
      if ((c == ' ' || c == '\n') && !folded.empty() && folded.back() == ' ') continue;
      folded += c == '\n' ? ' ' : c;
    }
    // pdftotext turns the ideographic space of names into a space.
    for (size_t at; (at = folded.find("　")) != std::string::npos;) folded.replace(at, 3, " ");
    return folded;
  }
  std::string issued_text(const IssuanceRequest& r, const LocalGovernmentCode& by = kChiyoda) {
    IssuanceOutcome out = issue(r, by);
    EXPECT_TRUE(out.document.has_value()) << (out.refusal ? out.refusal->reason : "");
    return out.document ? text_of(*out.document) : "";
  }
  std::string refused(const IssuanceRequest& r, const LocalGovernmentCode& by = kChiyoda) {
    IssuanceOutcome out = issue(r, by);
    EXPECT_FALSE(out.document.has_value());
    return out.refusal ? out.refusal->reason : "";
  }
  static bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

  std::unique_ptr<Households> households_;
  std::unique_ptr<SealRegistrations> seals_;
  std::unique_ptr<IssuanceServer> server_;
  Resident taro_, hanako_, ichiro_;
  int64_t register_id_ = 0;
  TaxAssessment assessment_;
};

TEST_F(IssuanceTest, AResidentSheetOfTheHouseholdShowsEveryMemberWithFuriganaButNeverTheResidentCode) {
  IssuanceRequest r = request(DocumentType::juminhyo, hanako_);
  r.whole_household = true;
  r.items.head_and_relationship = true;
  const std::string text = issued_text(r);
  EXPECT_TRUE(has(text, "住民票の写し")) << text;
  for (const Resident* p : {&taro_, &hanako_, &ichiro_}) {
    EXPECT_TRUE(has(text, "山田 " + p->person.name.substr(p->person.name.find("　") + 3))) << text;
    EXPECT_FALSE(has(text, p->resident_code.str())) << "the resident code is never printed";
    EXPECT_FALSE(has(text, p->my_number->str())) << "the My Number only when chosen";
  }
  EXPECT_TRUE(has(text, "ヤマダ ハナコ")) << text;
  EXPECT_TRUE(has(text, "世帯主")) << text;
  EXPECT_TRUE(has(text, "妻")) << text;
  EXPECT_TRUE(has(text, registry::testing::kChiyodaAddress)) << text;
  EXPECT_TRUE(has(text, "千代田区長")) << text;
}

TEST_F(IssuanceTest, TheOptionalItemsAppearOnlyWhenChosenAndSelfListsTheApplicantAlone) {
  IssuanceRequest plain = request(DocumentType::juminhyo, hanako_);
  const std::string text = issued_text(plain);
  EXPECT_TRUE(has(text, "山田 花子"));
  EXPECT_FALSE(has(text, "山田 一郎")) << "members: self";
  EXPECT_FALSE(has(text, "続柄"));
  EXPECT_FALSE(has(text, "本籍"));
  EXPECT_FALSE(has(text, "個人番号"));

  IssuanceRequest all_items = request(DocumentType::juminhyo, hanako_);
  all_items.items = {true, true, true};
  const std::string full = issued_text(all_items);
  EXPECT_TRUE(has(full, "続柄"));
  EXPECT_TRUE(has(full, "東京都千代田区千代田1番")) << "本籍 from her family register: " << full;
  EXPECT_TRUE(has(full, hanako_.my_number->str())) << full;
}

TEST_F(IssuanceTest, EachOfTheOtherDocumentsShowsTheApplicantsData) {
  const std::string kisai = issued_text(request(DocumentType::kisai_jiko, taro_));
  EXPECT_TRUE(has(kisai, "住民票記載事項証明書"));
  EXPECT_TRUE(has(kisai, "住民票に記載されていることを証明する"));

  const std::string inkan = issued_text(request(DocumentType::inkan, taro_));
  EXPECT_TRUE(has(inkan, "印鑑登録証明書"));
  EXPECT_TRUE(has(inkan, "山田 太郎"));
  EXPECT_TRUE(has(inkan, "登録されている印影と相違ない"));

  const std::string koseki = issued_text(request(DocumentType::koseki, taro_));
  EXPECT_TRUE(has(koseki, "戸籍全部事項証明書"));
  EXPECT_TRUE(has(koseki, "東京都千代田区千代田1番"));
  EXPECT_TRUE(has(koseki, "山田 花子")) << "every member of the register";

  IssuanceRequest individual = request(DocumentType::koseki, hanako_);
  individual.individual = true;
  const std::string one = issued_text(individual);
  EXPECT_TRUE(has(one, "戸籍個人事項証明書"));
  EXPECT_FALSE(has(one, "戸籍に記録されている者 ヤマダ タロウ")) << one;

  const std::string fuhyo = issued_text(request(DocumentType::koseki_fuhyo, taro_));
  EXPECT_TRUE(has(fuhyo, "戸籍の附票の写し"));
  EXPECT_TRUE(has(fuhyo, registry::testing::kChiyodaAddress));

  const std::string kazei = issued_text(request(DocumentType::kazei, taro_));
  EXPECT_TRUE(has(kazei, "所得・課税証明書"));
  auto yen = [](int64_t v) {
    std::string d = std::to_string(v), out;
    for (size_t i = 0; i < d.size(); ++i) out += (i > 0 && (d.size() - i) % 3 == 0 ? "," : "") + d.substr(i, 1);
    return out + "円";
  };
  EXPECT_TRUE(has(kazei, yen(assessment_.total_income))) << kazei;
  EXPECT_TRUE(has(kazei, yen(assessment_.total))) << kazei;
}

TEST_F(IssuanceTest, EveryDocumentCarriesTheApplicantAsSubjectAndAVerificationCodeTheMunicipalitysKeyChecks) {
  IssuanceOutcome out = issue(request(DocumentType::juminhyo, taro_));
  ASSERT_TRUE(out.document);
  EXPECT_EQ(out.document->subject, taro_.person.name);
  EXPECT_EQ(out.document->fee, 200);
  const std::string path = dir_.string() + "/doc.pdf";
  std::ofstream(path, std::ios::binary) << out.document->pdf;
  auto info = testing::run("pdfinfo " + path);
  EXPECT_TRUE(has(info.text, "山田　太郎") || has(info.text, "山田 太郎")) << info.text;
  auto png = testing::run("pdftoppm -r 100 -png -f 1 -l 1 " + path + " " + dir_.string() + "/page && zbarimg --quiet --raw -Sdisable -Sqrcode.enable " +
                          dir_.string() + "/page-1.png");
  ASSERT_EQ(png.exit_code, 0) << png.text;
  std::string payload = png.text.substr(0, png.text.find('\n'));
  auto pem = server_->public_key_pem(kChiyoda);
  ASSERT_TRUE(pem.ok());
  auto verified = verify(payload, pki::public_key_from_pem(*pem).value().get());
  ASSERT_TRUE(verified.ok()) << verified.status().to_string();
  EXPECT_EQ(verified->issuance_number, out.document->issuance_number);
  auto other = verify(payload, pki::public_key_from_pem(server_->public_key_pem(kChuo).value()).value().get());
  EXPECT_FALSE(other.ok()) << "another municipality's key does not verify it";
}

TEST_F(IssuanceTest, TheResidentOfAnotherMunicipalityOrOneWhoMovedOutIsRefused) {
  EXPECT_EQ(refused(request(DocumentType::juminhyo, taro_), kChuo), kRefusedNotResident);
  ChangeEvent out = change("out", EventType::move_out, Date::today(), ichiro_.resident_code);
  out.to = kChuo.str();
  ASSERT_TRUE(registry_->submit(kChiyoda, out).ok());
  EXPECT_EQ(refused(request(DocumentType::juminhyo, ichiro_)), kRefusedNotResident);
}

TEST_F(IssuanceTest, TheDeceasedAreRefused) {
  ASSERT_TRUE(registry_->submit(kChiyoda, change("d", EventType::death, Date::today(), hanako_.resident_code)).ok());
  EXPECT_EQ(refused(request(DocumentType::juminhyo, hanako_)), kRefusedDeceased);
  EXPECT_EQ(refused(request(DocumentType::koseki, hanako_)), kRefusedDeceased);
}

TEST_F(IssuanceTest, ASupportMeasureRefusesTheKioskButNotTheWindow) {
  ASSERT_TRUE(server_->place_support_measure(kChiyoda, hanako_.resident_code, Date::today(), std::nullopt).is_ok());
  EXPECT_EQ(refused(request(DocumentType::juminhyo, hanako_)), kRefusedSupportMeasure);
  EXPECT_TRUE(issue(request(DocumentType::juminhyo, hanako_, "window")).document.has_value());
  EXPECT_EQ(server_->place_support_measure(kChuo, taro_.resident_code, Date::today(), std::nullopt).code(),
            Code::not_found);  // another municipality's resident
}

TEST_F(IssuanceTest, NoSealOrAnAbolishedSealIsNeverCertified) {
  EXPECT_EQ(refused(request(DocumentType::inkan, hanako_)), kRefusedNoSeal);
  SealAbolitionRequest abolish{"abolish-t", taro_.resident_code, SealAbolitionReason::request, std::nullopt};
  ASSERT_TRUE(seals_->abolish(kChiyoda, abolish).ok());
  EXPECT_EQ(refused(request(DocumentType::inkan, taro_)), kRefusedSealAbolished);
  EXPECT_EQ(refused(request(DocumentType::inkan, taro_, "window")), kRefusedSealAbolished) << "at the window too";
}

TEST_F(IssuanceTest, NoFamilyRegisterHereIsRefused) {
  EXPECT_EQ(refused(request(DocumentType::koseki, ichiro_)), kRefusedNoFamilyRegister) << "not linked to a register";
  EXPECT_EQ(refused(request(DocumentType::koseki, taro_), kChuo), kRefusedNoFamilyRegister) << "本籍 is 千代田区";
  EXPECT_EQ(refused(request(DocumentType::koseki_fuhyo, taro_), kChuo), kRefusedNoFamilyRegister);
}

TEST_F(IssuanceTest, NoTaxRecordOfTheYearIsRefused) {
  EXPECT_EQ(refused(request(DocumentType::kazei, hanako_)), kRefusedNoTaxRecord);
  IssuanceRequest other_year = request(DocumentType::kazei, taro_);
  other_year.fiscal_year = kLastTaxYear;
  EXPECT_EQ(refused(other_year), kRefusedNoTaxRecord);
}

TEST_F(IssuanceTest, ADocumentTheMunicipalityDoesNotOfferAtKiosksIsRefusedThereOnly) {
  KioskOffer offer = server_->offer(kChiyoda).value();
  offer.documents.erase(DocumentType::kazei);
  offer.fees[DocumentType::juminhyo] = 150;
  ASSERT_TRUE(server_->configure(kChiyoda, offer).is_ok());
  EXPECT_EQ(refused(request(DocumentType::kazei, taro_)), kRefusedNotOffered);
  EXPECT_TRUE(issue(request(DocumentType::kazei, taro_, "window")).document.has_value());
  EXPECT_EQ(issue(request(DocumentType::juminhyo, taro_)).document->fee, 150);
  EXPECT_EQ(issue(request(DocumentType::juminhyo, taro_, "window")).document->fee, 0);
}

TEST_F(IssuanceTest, EveryIssuanceAndRefusalIsLoggedAndNumbersFollowEachOther) {
  IssuanceOutcome first = issue(request(DocumentType::juminhyo, taro_));
  IssuanceOutcome second = issue(request(DocumentType::kisai_jiko, taro_));
  refused(request(DocumentType::kazei, taro_, "kiosk"), kChuo);
  const std::string year = std::to_string(Date::today().year());
  EXPECT_EQ(first.document->issuance_number, "131016-" + year + "-0000001");
  EXPECT_EQ(second.document->issuance_number, "131016-" + year + "-0000002");
  auto log = server_->records_of(taro_.resident_code);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[0].outcome, kRefusedNotResident);
  EXPECT_EQ((*log)[0].municipality, kChuo);
  EXPECT_EQ((*log)[1].outcome, "issued");
  EXPECT_EQ((*log)[1].issuance_number, second.document->issuance_number);
  EXPECT_EQ((*log)[2].session, "session-1");
}

// The electronic seal: with a sealer set, what leaves is the drawn document signed by the
// municipality's certificate (here a throwaway one made by openssl), which pdfsig verifies; the
// sealer is told which municipality, document and number it seals (a sealer that fails: the next
// test).
TEST_F(IssuanceTest, WithASealerEveryDocumentLeavesSignedByTheMunicipalitysCertificate) {
  const std::string d = dir_.string();
  const std::string make =
      "cd " + d + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 2 "
      "-subj /C=JP/O=LGPKI-TEST/CN=Test-Root 2>&1 && openssl req -newkey rsa:2048 -nodes -keyout mayor.key "
      "-out mayor.csr -subj /C=JP/O=Chiyoda-ku/CN=Chiyoda-ku-Mayor 2>&1 && printf "
      "'keyUsage=critical,digitalSignature,nonRepudiation\\nextendedKeyUsage=emailProtection\\n' > ext && "
      "openssl x509 -req -in mayor.csr -CA root.pem -CAkey root.key -set_serial 16 -days 2 -extfile ext "
      "-out mayor.pem 2>&1";
  auto made = testing::run(make);
  ASSERT_EQ(made.exit_code, 0) << made.text;
  auto read = [&](const char* name) {
    std::ifstream in(d + "/" + name);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  auto cert = pki::x509_from_pem(read("mayor.pem"));
  auto key = pki::private_key_from_pem(read("mayor.key"));
  ASSERT_TRUE(cert.ok() && key.ok());
  std::vector<SealRequest> asked;
  server_->seal_with([&](const SealRequest& request, std::string pdf) -> Result<std::string> {
    asked.push_back(request);
    pki::PdfSignOptions o;
    o.signing_time = static_cast<int64_t>(std::time(nullptr));
    o.name = "千代田区長";
    o.reason = "証明書の交付";
    o.location = "東京都千代田区";
    return pki::sign_pdf(pdf, {cert->get(), key->get(), {}}, o);
  });
  IssuanceOutcome out = issue(request(DocumentType::juminhyo, taro_));
  ASSERT_TRUE(out.document.has_value());
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].municipality, kChiyoda);
  EXPECT_EQ(asked[0].type, DocumentType::juminhyo);
  EXPECT_EQ(asked[0].issuance_number, out.document->issuance_number);
  const std::string path = d + "/sealed.pdf";
  std::ofstream(path, std::ios::binary) << out.document->pdf;
  auto report = testing::run("pdfsig " + path + " 2>&1");
  EXPECT_NE(report.text.find("Signer Certificate Common Name: Chiyoda-ku-Mayor"), std::string::npos) << report.text;
  EXPECT_NE(report.text.find("Signature Validation: Signature is Valid."), std::string::npos) << report.text;
  EXPECT_NE(report.text.find("Total document signed"), std::string::npos) << report.text;
  EXPECT_TRUE(has(text_of(*out.document), "山田 太郎"));  // still the same document to read
}

// A document numbered and recorded that then cannot be made (here its seal fails) never left: its
// record says undelivered, its number does not verify and is not given again; the documents before
// and after it are untouched.
TEST_F(IssuanceTest, ADocumentThatCouldNotBeMadeIsRecordedUndeliveredAndItsNumberNeverVerifies) {
  IssuanceOutcome before = issue(request(DocumentType::juminhyo, taro_));
  ASSERT_TRUE(before.document.has_value());
  server_->seal_with([](const SealRequest&, std::string) -> Result<std::string> {
    return unavailable("the time-stamp authority is down");
  });
  auto failed = server_->issue(kChiyoda, request(DocumentType::juminhyo, taro_));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::unavailable);
  server_->seal_with(Sealer{});
  IssuanceOutcome after = issue(request(DocumentType::juminhyo, taro_));
  ASSERT_TRUE(after.document.has_value());

  auto log = server_->records_of(taro_.resident_code);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);
  const IssuanceRecord& undelivered = (*log)[1];
  EXPECT_EQ(undelivered.outcome, kUndelivered);
  EXPECT_EQ((*log)[0].outcome, "issued");
  EXPECT_EQ((*log)[2].outcome, "issued");
  const std::string year = std::to_string(Date::today().year());
  EXPECT_EQ(before.document->issuance_number, "131016-" + year + "-0000001");
  EXPECT_EQ(undelivered.issuance_number, "131016-" + year + "-0000002");
  EXPECT_EQ(after.document->issuance_number, "131016-" + year + "-0000003");

  auto check = [&](const std::string& number) {
    auto c = server_->check_code(number);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    return c.ok() && c->issued;
  };
  EXPECT_FALSE(check(undelivered.issuance_number));
  EXPECT_TRUE(check(before.document->issuance_number));
  EXPECT_TRUE(check(after.document->issuance_number));
}

// The issuance centre returns what a kiosk session got and never reached its terminal: every
// kiosk document of that session at that municipality becomes undelivered, except the one its
// terminal fetched; another session's, another municipality's and a window's are never touched;
// asking again changes nothing more.
TEST_F(IssuanceTest, ASessionsKioskDocumentsButTheDeliveredOneAreReturnedAndThenNeverVerify) {
  auto kiosk = [&](const std::string& session) {
    IssuanceRequest r = request(DocumentType::juminhyo, taro_);
    r.session = session;
    return issue(r).document->issuance_number;
  };
  const std::string lost = kiosk("session-1"), held = kiosk("session-1"), fetched = kiosk("session-1");
  const std::string other = kiosk("session-2");
  const std::string window = issue(request(DocumentType::juminhyo, taro_, "window")).document->issuance_number;
  auto outcome_of = [&](const std::string& n) {
    auto log = server_->records_of(taro_.resident_code);
    EXPECT_TRUE(log.ok());
    for (const IssuanceRecord& r : log.ok() ? *log : std::vector<IssuanceRecord>{})
      if (r.issuance_number == n) return r.outcome;
    return std::string("(none)");
  };
  using Numbers = std::vector<std::string>;
  auto returned = [&](const LocalGovernmentCode& at, const std::string& session, const std::string& delivered) {
    auto r = server_->returned(at, session, delivered);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : Numbers{"(failed)"};
  };
  EXPECT_EQ(returned(kChuo, "session-1", ""), Numbers{}) << "another municipality's documents are not its to return";
  EXPECT_EQ(returned(kChiyoda, "session-3", ""), Numbers{});
  EXPECT_EQ(server_->returned(kChiyoda, "", "").status().code(), Code::invalid_argument)
      << "a window's document (no session) is never a kiosk's";
  for (const std::string& n : {lost, held, fetched, other, window}) EXPECT_EQ(outcome_of(n), "issued") << n;

  EXPECT_EQ(returned(kChiyoda, "session-1", fetched), (Numbers{lost, held}));
  EXPECT_EQ(outcome_of(lost), kUndelivered);
  EXPECT_EQ(outcome_of(held), kUndelivered);
  EXPECT_FALSE(server_->check_code(lost)->issued);
  EXPECT_FALSE(server_->check_code(held)->issued);
  EXPECT_EQ(returned(kChiyoda, "session-1", fetched), Numbers{}) << "asking again changes nothing more";
  for (const std::string& n : {fetched, other, window}) {
    EXPECT_EQ(outcome_of(n), "issued") << n;
    EXPECT_TRUE(server_->check_code(n)->issued) << n;
  }
  EXPECT_EQ(returned(kChiyoda, "session-2", ""), Numbers{other}) << "nothing delivered: all of it goes back";
}

// Once the centre has returned a session here, the session gets nothing more here: a request of it
// that arrives after the return (a relay late past the session's end) is refused in the issuing
// transaction and recorded nowhere, so no document escapes the return. Another session, another
// municipality and the window go on as before.
TEST_F(IssuanceTest, ASessionReturnedHereGetsNoMoreDocumentsHere) {
  IssuanceRequest first = request(DocumentType::juminhyo, taro_);
  const std::string number = issue(first).document->issuance_number;
  ASSERT_EQ(server_->returned(kChiyoda, first.session, "").value(), std::vector<std::string>{number});
  const size_t records = server_->records_of(taro_.resident_code)->size();

  auto late = server_->issue(kChiyoda, first);
  EXPECT_EQ(late.status().code(), Code::conflict) << "the returned session got a document after its return";
  EXPECT_EQ(server_->records_of(taro_.resident_code)->size(), records) << "a refused late request records nothing";
  IssuanceRequest another_type = first;
  another_type.type = DocumentType::kisai_jiko;
  EXPECT_EQ(server_->issue(kChiyoda, another_type).status().code(), Code::conflict) << "any document of the session";
  EXPECT_EQ(server_->returned(kChiyoda, first.session, "").value(), std::vector<std::string>{}) << "asked again";

  IssuanceRequest other = first;
  other.session = "session-2";
  EXPECT_TRUE(issue(other).document.has_value()) << "another session is not returned";
  EXPECT_EQ(refused(first, kChuo), kRefusedNotResident) << "the return was Chiyoda's: Chuo still decides";
  EXPECT_TRUE(issue(request(DocumentType::juminhyo, taro_, "window")).document.has_value());
  EXPECT_EQ(server_->records_of(taro_.resident_code)->size(), records + 3);
}

TEST(IssuanceRequestJson, RefusesUnknownFieldsTypesAndItems) {
  using nlohmann::json;
  EXPECT_TRUE(issuance_request_from_json({{"type", "juminhyo"}, {"members", "all"}, {"items", {"household"}}}).ok());
  EXPECT_EQ(issuance_request_from_json({{"type", "passport"}}).status().code(), Code::invalid_argument);
  EXPECT_EQ(issuance_request_from_json({{"type", "juminhyo"}, {"resident_code", "x"}}).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(issuance_request_from_json({{"type", "juminhyo"}, {"items", {"resident-code"}}}).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(issuance_request_from_json({{"type", "juminhyo"}, {"members", "everyone"}}).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(issuance_request_from_json(json::array()).status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace jlis::municipal
