// The card API over loopback: a real server, real tokens, the registry's routes with the card
// decorator beside it.
#include "card/routes.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <thread>

#include "../http/client.h"
#include "fixture.h"
#include "registry/routes.h"

namespace jlis::card::testing {
namespace {

using http::testing::Client;
using http::testing::Headers;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;

class CardHttpTest : public CardTest {
 protected:
  void SetUp() override {
    CardTest::SetUp();
    http::ServerOptions options;
    options.io_threads = 1;
    options.worker_threads = 2;
    server_ = std::make_unique<http::Server>(options);
    add_routes(*server_, *cards_, *directory_);
    registry::add_routes(*server_, *registry_, *directory_, resident_decorator(*cards_));
    ASSERT_TRUE(server_->start().is_ok());
    chiyoda_ = directory_->create_token(auth::Role::municipality, kChiyoda, kChiyoda).value();
    chuo_ = directory_->create_token(auth::Role::municipality, kChuo, kChuo).value();
    centre_ = directory_->create_token(auth::Role::card_centre, "centre", "card centre").value();
    calls_ = directory_->create_token(auth::Role::call_centre, "calls", "call centre").value();
  }
  void TearDown() override {
    server_->stop();
    server_.reset();
    CardTest::TearDown();
  }

  Reply post(const std::string& target, const std::string& body, const std::string& token) {
    Headers h;
    if (!token.empty()) h.push_back({"Authorization", "Bearer " + token});
    return Client(server_->port()).request(bhttp::verb::post, target, body, h);
  }
  Reply get(const std::string& target, const std::string& token) {
    Headers h;
    if (!token.empty()) h.push_back({"Authorization", "Bearer " + token});
    return Client(server_->port()).get(target, h);
  }
  static json body(const Reply& r) { return json::parse(r.body()); }
  static std::string error_code(const Reply& r) {
    json j = json::parse(r.body(), nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"]["code"].get<std::string>() : "(no error) " + r.body();
  }
  static std::string application(const ResidentCode& code, const std::string& extra = "") {
    return R"({"resident_code": ")" + code.str() + R"(", "channel": "web", "photo": true)" + extra + "}";
  }

  std::unique_ptr<http::Server> server_;
  std::string chiyoda_, chuo_, centre_, calls_;
};

TEST_F(CardHttpTest, TheWholeLifecycle) {
  auto r = born("b1", "1990-04-01");
  auto applied = post("/v1/cards/applications", application(r.resident_code), centre_);
  ASSERT_EQ(applied.result_int(), 201) << applied.body();
  json a = body(applied);
  EXPECT_EQ(a["status"], "accepted");
  EXPECT_TRUE(a["express"].is_null());
  EXPECT_TRUE(a["due_on"].is_null());
  EXPECT_TRUE(a["card_id"].is_null());
  const std::string app = "/v1/cards/applications/" + std::to_string(a["application_id"].get<int64_t>());
  EXPECT_EQ(body(get(app, chiyoda_))["status"], "accepted");

  ASSERT_TRUE(cards_->produce(SIZE_MAX).ok());
  json shipped = body(get(app, centre_));
  EXPECT_EQ(shipped["status"], "shipped");
  ASSERT_TRUE(shipped["card_id"].is_string());
  const std::string id = shipped["card_id"];
  const std::string card = "/v1/cards/" + id;
  json c = body(get(card, chiyoda_));
  EXPECT_EQ(c["card_id"], id);
  EXPECT_EQ(c["resident_code"], r.resident_code.str());
  EXPECT_EQ(c["status"], "shipped");
  EXPECT_EQ(c["issued_on"], today_.to_iso());
  EXPECT_EQ(c["expires_on"], "2035-04-01");
  EXPECT_TRUE(c["express"].is_null());
  EXPECT_EQ(c["history"].size(), 2u);

  EXPECT_EQ(error_code(post(card + "/handover", "", chiyoda_)), "invalid_argument");
  EXPECT_EQ(error_code(post(card + "/handover", R"({"identity_checked": false})", chiyoda_)), "invalid_argument");
  EXPECT_EQ(error_code(post(card + "/handover", R"({"identity_checked": "yes"})", chiyoda_)), "invalid_argument");
  EXPECT_EQ(post(card + "/handover", R"({"identity_checked": true})", chuo_).result_int(), 403);
  auto handed = post(card + "/handover", R"({"identity_checked": true})", chiyoda_);
  ASSERT_EQ(handed.result_int(), 200) << handed.body();
  EXPECT_EQ(body(handed)["status"], "active");
  EXPECT_EQ(body(handed)["delivered_on"], today_.to_iso());
  EXPECT_EQ(body(handed)["signature_certificate_allowed"], true);
  EXPECT_EQ(body(get(app, centre_))["status"], "delivered");

  // The registry's resident JSON names the card.
  auto resident = get("/v1/residents/" + r.resident_code.str(), chiyoda_);
  ASSERT_EQ(resident.result_int(), 200) << resident.body();
  EXPECT_EQ(body(resident)["card_id"], id);

  EXPECT_EQ(post(card + "/suspend", "", chiyoda_).result_int(), 403);
  auto suspended = post(card + "/suspend", "", calls_);
  ASSERT_EQ(suspended.result_int(), 200) << suspended.body();
  EXPECT_EQ(body(suspended)["status"], "suspended");
  EXPECT_EQ(post(card + "/suspend", "{}", calls_).result_int(), 409);
  EXPECT_EQ(body(post(card + "/resume", "{}", calls_))["status"], "active");
  EXPECT_EQ(error_code(post(card + "/report-lost", R"({"reason": "eaten"})", calls_)), "invalid_argument");
  auto lost = post(card + "/report-lost", R"({"reason": "stolen"})", calls_);
  ASSERT_EQ(lost.result_int(), 200) << lost.body();
  EXPECT_EQ(body(lost)["status"], "lost");
  EXPECT_EQ(body(lost)["history"].back()["note"], "stolen");
  EXPECT_TRUE(body(get("/v1/residents/" + r.resident_code.str(), chiyoda_))["card_id"].is_null());
  EXPECT_EQ(post(card + "/return", "", calls_).result_int(), 403);
  auto returned = post(card + "/return", "", chiyoda_);
  ASSERT_EQ(returned.result_int(), 200) << returned.body();
  EXPECT_EQ(body(returned)["status"], "returned");
  EXPECT_EQ(post(card + "/return", "", chiyoda_).result_int(), 409);
}

// Rule: an agency's read leaves only once its provision record has committed (the worker does not
// wait for that commit: the writer's thread answers); a municipality's read of its own resident
// makes no record and does not wait for the writer.
TEST_F(CardHttpTest, AnAgencysReadLeavesOnlyAfterItsProvisionRecordCommitted) {
  auto r = born("b1", "1990-04-01");
  const std::string agency = directory_->add_agency("Pension", {"pension"}).value().second;
  const std::string url = "/v1/residents/" + r.resident_code.str();
  hold_writer();
  auto read = std::async(std::launch::async, [&] { return get(url + "?purpose=pension", agency); });
  wait_queued(1);
  const bool answered_early = read.wait_for(std::chrono::milliseconds(300)) == std::future_status::ready;
  auto own = get(url, chiyoda_);  // answered while the writer is still held
  const auto provisions_before = registry_->provisions(r.resident_code).value().size();
  release();
  EXPECT_FALSE(answered_early) << "the data left before its provision record committed";
  EXPECT_EQ(own.result_int(), 200) << own.body();
  EXPECT_EQ(provisions_before, 0u);
  auto answer = read.get();
  ASSERT_EQ(answer.result_int(), 200) << answer.body();
  EXPECT_EQ(body(answer)["resident_code"], r.resident_code.str());
  auto provisions = registry_->provisions(r.resident_code).value();
  ASSERT_EQ(provisions.size(), 1u);
  EXPECT_EQ(provisions[0].purpose, "pension");
}

TEST_F(CardHttpTest, RejectionsAreAnsweredWithTheirReasonAndRecorded) {
  auto r = born("b1", "1990-04-01");
  auto no_photo = post("/v1/cards/applications",
                       R"({"resident_code": ")" + r.resident_code.str() + R"(", "channel": "post", "photo": false})",
                       centre_);
  ASSERT_EQ(no_photo.result_int(), 400) << no_photo.body();
  json rejected = body(no_photo);
  EXPECT_EQ(rejected["error"]["code"], "invalid_argument");
  EXPECT_NE(rejected["error"]["message"].get<std::string>().find("photo"), std::string::npos);
  EXPECT_EQ(rejected["status"], "rejected");
  const std::string app = "/v1/cards/applications/" + std::to_string(rejected["application_id"].get<int64_t>());
  json stored = body(get(app, centre_));
  EXPECT_EQ(stored["status"], "rejected");
  EXPECT_EQ(stored["reason"]["code"], "invalid_argument");

  ASSERT_EQ(post("/v1/cards/applications", application(r.resident_code), chiyoda_).result_int(), 201);
  auto twice = post("/v1/cards/applications", application(r.resident_code), centre_);
  EXPECT_EQ(twice.result_int(), 409) << twice.body();
  EXPECT_EQ(body(twice)["status"], "rejected");
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_applications"), 3);
}

TEST_F(CardHttpTest, MalformedRequestsRolesAndUnknownThings) {
  auto r = born("b1", "1990-04-01");
  const std::string before = state();
  EXPECT_EQ(error_code(post("/v1/cards/applications", "{not json", centre_)), "invalid_argument");
  EXPECT_EQ(error_code(post("/v1/cards/applications", "[]", centre_)), "invalid_argument");
  EXPECT_EQ(error_code(post("/v1/cards/applications", application(r.resident_code, R"(, "colour": "blue")"), centre_)),
            "invalid_argument");
  EXPECT_EQ(error_code(post("/v1/cards/applications", application(r.resident_code, R"(, "express": "soon")"), centre_)),
            "invalid_argument");
  EXPECT_EQ(error_code(post("/v1/cards/applications", R"({"resident_code": "12345", "channel": "web", "photo": true})",
                            centre_)),
            "invalid_argument");
  EXPECT_EQ(error_code(post("/v1/cards/applications",
                            R"({"resident_code": ")" + r.resident_code.str() + R"(", "channel": "fax", "photo": true})",
                            centre_)),
            "invalid_argument");
  EXPECT_EQ(error_code(post("/v1/cards/applications",
                            R"({"resident_code": ")" + r.resident_code.str() + R"(", "channel": "web"})", centre_)),
            "invalid_argument");
  EXPECT_EQ(post("/v1/cards/applications", application(r.resident_code), "").result_int(), 401);
  EXPECT_EQ(post("/v1/cards/applications", application(r.resident_code), "jlis_unknown").result_int(), 401);
  EXPECT_EQ(post("/v1/cards/applications", application(r.resident_code), calls_).result_int(), 403);
  EXPECT_EQ(post("/v1/cards/applications", application(r.resident_code), chuo_).result_int(), 404);
  EXPECT_EQ(post("/v1/cards/applications",
                 R"({"resident_code": ")" + r.resident_code.str() + R"(", "channel": "window", "photo": true})", centre_)
                .result_int(),
            403);
  EXPECT_EQ(post("/v1/cards/applications", application(ResidentCode::from_body(1234567890)), centre_).result_int(),
            404);
  EXPECT_EQ(state(), before);

  EXPECT_EQ(get("/v1/cards/applications/999", centre_).result_int(), 404);
  EXPECT_EQ(get("/v1/cards/applications/abc", centre_).result_int(), 400);
  EXPECT_EQ(get("/v1/cards/applications/1", calls_).result_int(), 403);
  EXPECT_EQ(get("/v1/cards/0123456789abcdef", centre_).result_int(), 404);
  EXPECT_EQ(get("/v1/cards/XYZ", centre_).result_int(), 400);
  EXPECT_EQ(get("/v1/cards/0123456789abcdef", "").result_int(), 401);
  auto unknown = post("/v1/cards/0123456789abcdef/shred", "", calls_);
  EXPECT_EQ(unknown.result_int(), 404);
  EXPECT_EQ(error_code(unknown), "not_found");
  EXPECT_EQ(post("/v1/cards/0123456789abcdef/suspend", "", calls_).result_int(), 404);

  std::string id = produced(accepted(request(r.resident_code)).application_id);
  EXPECT_EQ(get("/v1/cards/" + id, chuo_).result_int(), 403);
  EXPECT_EQ(get("/v1/cards/" + id, calls_).result_int(), 200);
  EXPECT_EQ(error_code(post("/v1/cards/" + id + "/handover", "{oops", chiyoda_)), "invalid_argument");
  EXPECT_EQ(error_code(post("/v1/cards/" + id + "/handover", "[true]", chiyoda_)), "invalid_argument");
  EXPECT_EQ(error_code(post("/v1/cards/" + id + "/suspend", R"({"why": "x"})", calls_)), "invalid_argument");
  EXPECT_EQ(body(get("/v1/cards/" + id, centre_))["status"], "shipped");
}

TEST_F(CardHttpTest, ExpressApplicationsAndTheLateList) {
  auto baby = born("n1", "2025-05-01");
  auto applied = post("/v1/cards/applications",
                      R"({"resident_code": ")" + baby.resident_code.str() +
                          R"(", "channel": "post", "photo": false, "express": "newborn", "email": null})",
                      centre_);
  ASSERT_EQ(applied.result_int(), 201) << applied.body();
  EXPECT_EQ(body(applied)["express"], "newborn");
  EXPECT_EQ(body(applied)["due_on"], "2025-06-09");
  EXPECT_EQ(body(applied)["late"], false);
  EXPECT_EQ(body(get("/v1/cards/applications?late=true", centre_))["applications"].size(), 0u);
  today_ = date("2025-06-12");
  auto late = get("/v1/cards/applications?late=true", centre_);
  ASSERT_EQ(late.result_int(), 200) << late.body();
  ASSERT_EQ(body(late)["applications"].size(), 1u);
  EXPECT_EQ(body(late)["applications"][0]["late"], true);
  EXPECT_EQ(body(late)["applications"][0]["resident_code"], baby.resident_code.str());
  EXPECT_EQ(get("/v1/cards/applications?late=true", chiyoda_).result_int(), 403);
  EXPECT_EQ(get("/v1/cards/applications", centre_).result_int(), 400);
  EXPECT_EQ(get("/v1/cards/applications?late=true&limit=0", centre_).result_int(), 400);
  EXPECT_EQ(get("/v1/cards/applications?late=true&limit=x", centre_).result_int(), 400);
  EXPECT_EQ(body(get("/v1/cards/applications?late=true&limit=1", centre_))["applications"].size(), 1u);
}

// Idempotency of card actions (ARCHITECTURE.md §5): a retry under the same Idempotency-Key is answered
// as the first time, whatever happened since, and applies nothing; the key with another request is
// refused; keys are the caller's own; a refused action is not recorded under its key.
TEST_F(CardHttpTest, ACardActionRetriedWithItsIdempotencyKeyIsAnsweredAsTheFirstTimeAndAppliedOnce) {
  auto r = born("b1", "1990-04-01");
  const std::string id = produced(accepted(request(r.resident_code)).application_id);
  const std::string card = "/v1/cards/" + id;
  auto keyed = [&](const std::string& action, const std::string& body, const std::string& token,
                   const std::string& key) {
    return Client(server_->port())
        .request(bhttp::verb::post, card + "/" + action, body,
                 {{"Authorization", "Bearer " + token}, {"Idempotency-Key", key}});
  };
  auto metric = [&](const std::string& op) {
    const std::string text = get("/metrics", "").body();
    const std::string name = "jlis_card_operations_total{operation=\"" + op + "\"} ";
    const auto at = text.find(name);
    return at == std::string::npos ? std::string("missing") : text.substr(at + name.size(), text.find('\n', at) - at - name.size());
  };

  auto handed = keyed("handover", R"({"identity_checked": true})", chiyoda_, "h-1");
  ASSERT_EQ(handed.result_int(), 200) << handed.body();
  EXPECT_EQ(handed["Idempotent-Replayed"], "");
  auto handed_again = keyed("handover", R"({"identity_checked":true})", chiyoda_, "h-1");  // same JSON, other spacing
  EXPECT_EQ(handed_again.result_int(), 200) << handed_again.body();
  EXPECT_EQ(handed_again["Idempotent-Replayed"], "true");
  EXPECT_EQ(handed_again.body(), handed.body());
  EXPECT_EQ(metric("handover"), "1");

  auto first = keyed("suspend", "{}", calls_, "k-1");
  ASSERT_EQ(first.result_int(), 200) << first.body();
  EXPECT_EQ(body(first)["status"], "suspended");
  EXPECT_EQ(first["Idempotent-Replayed"], "");
  ASSERT_EQ(body(post(card + "/resume", "", calls_))["status"], "active");

  // The retry after the card changed: the first answer again (suspended), nothing applied.
  const std::string before = state();
  auto retry = keyed("suspend", "{}", calls_, "k-1");
  EXPECT_EQ(retry.result_int(), 200) << retry.body();
  EXPECT_EQ(retry["Idempotent-Replayed"], "true");
  EXPECT_EQ(retry.body(), first.body());
  EXPECT_EQ(body(get(card, calls_))["status"], "active");
  EXPECT_EQ(state(), before);
  EXPECT_EQ(metric("suspend"), "1");

  // The key with another action, or the same action with another body: 409, nothing changes.
  auto other_action = keyed("report-lost", R"({"reason": "lost"})", calls_, "k-1");
  EXPECT_EQ(other_action.result_int(), 409) << other_action.body();
  EXPECT_EQ(error_code(other_action), "conflict");
  EXPECT_EQ(keyed("suspend", R"({"smartphone": true})", calls_, "k-1").result_int(), 409);
  EXPECT_EQ(state(), before);

  // Keys are per caller: another call-centre operator's k-1 is a request of its own.
  const std::string calls2 = directory_->create_token(auth::Role::call_centre, "calls-2", "call centre 2").value();
  auto theirs = keyed("suspend", "{}", calls2, "k-1");
  EXPECT_EQ(theirs.result_int(), 200) << theirs.body();
  EXPECT_EQ(theirs["Idempotent-Replayed"], "");
  EXPECT_EQ(metric("suspend"), "2");

  // A refused action is not recorded: the same key is judged afresh once the card allows it.
  EXPECT_EQ(keyed("suspend", "{}", calls_, "k-2").result_int(), 409);  // already suspended
  ASSERT_EQ(body(post(card + "/resume", "", calls_))["status"], "active");
  auto afresh = keyed("suspend", "{}", calls_, "k-2");
  EXPECT_EQ(afresh.result_int(), 200) << afresh.body();
  EXPECT_EQ(afresh["Idempotent-Replayed"], "");
  EXPECT_EQ(body(get(card, calls_))["status"], "suspended");

  // Malformed keys: 400, nothing changes.
  const std::string now = state();
  for (const std::string& bad : {std::string(), std::string(129, 'k'), std::string("two words"), std::string("\xe9\x8d\xb5")})
    EXPECT_EQ(error_code(keyed("resume", "", calls_, bad)), "invalid_argument") << "'" << bad << "'";
  EXPECT_EQ(keyed("resume", "", calls_, std::string(128, 'k')).result_int(), 200);
  EXPECT_NE(state(), now);
}

// Idempotency of applications (issue 8 §4: a retry after a crash applies once): the first request
// under a key is recorded with its answer, accepted or rejected; the retry is answered as the first
// time, whatever changed since (the card produced, the holder dead), and records nothing; the key
// with another body is refused; keys are the caller's own; a request refused without a record is
// not recorded under its key.
TEST_F(CardHttpTest, AnApplicationRetriedWithItsIdempotencyKeyIsAnsweredAsTheFirstTimeAndRecordedOnce) {
  auto r = born("b1", "1990-04-01");
  auto apply = [&](const std::string& body, const std::string& token, const std::string& key) {
    return Client(server_->port())
        .request(bhttp::verb::post, "/v1/cards/applications", body,
                 {{"Authorization", "Bearer " + token}, {"Idempotency-Key", key}});
  };
  auto applications = [&] { return count("SELECT COUNT(*) FROM card_applications"); };

  auto first = apply(application(r.resident_code), chiyoda_, "a-1");
  ASSERT_EQ(first.result_int(), 201) << first.body();
  EXPECT_EQ(first["Idempotent-Replayed"], "");
  const std::string same = R"({"photo":true,"channel":"web","resident_code":")" + r.resident_code.str() + R"("})";
  auto again = apply(same, chiyoda_, "a-1");  // the same JSON, keys in another order
  EXPECT_EQ(again.result_int(), 201) << again.body();
  EXPECT_EQ(again["Idempotent-Replayed"], "true");
  EXPECT_EQ(again.body(), first.body());
  EXPECT_EQ(applications(), 1);

  // A second application under another key is recorded as rejected (one is pending): 409.
  auto second = apply(application(r.resident_code, R"(, "channel": "post")"), chiyoda_, "a-2");
  ASSERT_EQ(second.result_int(), 409) << second.body();
  EXPECT_EQ(body(second)["status"], "rejected");
  EXPECT_EQ(applications(), 2);

  // After the card is produced and the holder died: both retries answer as the first time.
  produced(body(first)["application_id"].get<int64_t>());
  ASSERT_TRUE(change(kChiyoda, event("d1", registry::EventType::death, "2025-06-01", r.resident_code)).is_ok());
  const std::string before = state();
  auto late_retry = apply(application(r.resident_code), chiyoda_, "a-1");
  EXPECT_EQ(late_retry.result_int(), 201) << late_retry.body();
  EXPECT_EQ(late_retry["Idempotent-Replayed"], "true");
  EXPECT_EQ(late_retry.body(), first.body());
  auto rejected_retry = apply(application(r.resident_code, R"(, "channel": "post")"), chiyoda_, "a-2");
  EXPECT_EQ(rejected_retry.result_int(), 409) << rejected_retry.body();
  EXPECT_EQ(rejected_retry["Idempotent-Replayed"], "true");
  EXPECT_EQ(rejected_retry.body(), second.body());
  EXPECT_EQ(state(), before);

  // The key with another body: 409, nothing recorded.
  auto other = apply(application(r.resident_code, R"(, "email": "a@example.jp")"), chiyoda_, "a-1");
  EXPECT_EQ(other.result_int(), 409) << other.body();
  EXPECT_NE(other.body().find("Idempotency-Key"), std::string::npos) << other.body();
  EXPECT_EQ(state(), before);

  // Keys are per caller: the card centre's a-1 is a request of its own (judged now: the holder died).
  auto theirs = apply(application(r.resident_code), centre_, "a-1");
  EXPECT_EQ(theirs.result_int(), 409) << theirs.body();
  EXPECT_EQ(theirs["Idempotent-Replayed"], "");
  EXPECT_EQ(applications(), 3);

  // Refused without a record (another municipality's resident: 404): the key stays free.
  auto someone = born("b2", "1991-04-01");
  EXPECT_EQ(apply(application(someone.resident_code), chuo_, "c-1").result_int(), 404);
  auto chuo_own = born("b3", "1992-04-01", kChuo);
  auto afresh = apply(application(chuo_own.resident_code), chuo_, "c-1");
  EXPECT_EQ(afresh.result_int(), 201) << afresh.body();
  EXPECT_EQ(afresh["Idempotent-Replayed"], "");

  // Malformed keys: 400, nothing recorded.
  const std::string now = state();
  for (const std::string& bad : {std::string(), std::string(129, 'k'), std::string("two words")})
    EXPECT_EQ(error_code(apply(application(someone.resident_code), chiyoda_, bad)), "invalid_argument") << "'" << bad << "'";
  EXPECT_EQ(state(), now);
}

TEST_F(CardHttpTest, MetricsCountOperations) {
  auto r = born("b1", "1990-04-01");
  ASSERT_EQ(post("/v1/cards/applications", application(r.resident_code), centre_).result_int(), 201);
  auto metrics = get("/metrics", "");
  ASSERT_EQ(metrics.result_int(), 200);
  EXPECT_NE(metrics.body().find("jlis_card_operations_total{operation=\"application_accepted\"} 1"), std::string::npos)
      << metrics.body();
}

// Rule: a secret of the chip is reset only at the holder's municipality (CardSystem::reset_pin),
// only for an active card, and each reset is an event of the card's history; nothing else changes.
TEST_F(CardHttpTest, APinIsResetOnlyByTheHoldersMunicipalityForAnActiveCard) {
  const Card c = issued(born("pin1", "1990-04-01"));
  const std::string target = "/v1/cards/" + c.card_id + "/pin-reset";
  const std::string pin = R"({"secret": "authentication_pin"})";
  const std::string before = state();
  EXPECT_EQ(post(target, pin, chuo_).result_int(), 403);       // another municipality
  EXPECT_EQ(post(target, pin, calls_).result_int(), 403);      // the call centre
  EXPECT_EQ(post(target, pin, centre_).result_int(), 403);     // the card centre
  EXPECT_EQ(post(target, pin, "").result_int(), 401);
  EXPECT_EQ(error_code(post(target, "{}", chiyoda_)), "invalid_argument");
  EXPECT_EQ(error_code(post(target, R"({"secret": "pin"})", chiyoda_)), "invalid_argument");
  EXPECT_EQ(error_code(post(target, R"({"secret": "authentication_pin", "pin": "1234"})", chiyoda_)),
            "invalid_argument");  // the new secret goes to the chip, never to the centre
  EXPECT_EQ(state(), before);

  auto reset = post(target, pin, chiyoda_);
  ASSERT_EQ(reset.result_int(), 200) << reset.body();
  EXPECT_EQ(body(reset)["status"], "active");
  EXPECT_EQ(body(reset)["history"].back()["action"], "pin_reset");
  EXPECT_EQ(body(reset)["history"].back()["note"], "authentication_pin");
  auto password = post(target, R"({"secret": "signature_password"})", chiyoda_);
  ASSERT_EQ(password.result_int(), 200) << password.body();
  EXPECT_EQ(body(password)["history"].back()["note"], "signature_password");
  EXPECT_EQ(body(password)["history"].size(), body(reset)["history"].size() + 1);

  ASSERT_EQ(post("/v1/cards/" + c.card_id + "/suspend", "", calls_).result_int(), 200);
  EXPECT_EQ(post(target, pin, chiyoda_).result_int(), 409);  // a suspended card: not while suspended
}

}  // namespace
}  // namespace jlis::card::testing
