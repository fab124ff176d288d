// The information-linkage platform as its bodies use it, through `jlis serve` (issue 11's acceptance,
// tried as a new user would): the city and the pension service each get their own code for a
// resident born in the city, by the My Number they hold; the city registers its replica of the
// resident's household and income; the pension service asks for them by its own code and gets them,
// and is refused (and recorded) when it asks an item the legal table does not allow it; both bodies'
// lists and the resident's disclosure show both records; the two codes differ and no answer to a body
// names the resident code or the My Number. A bulk job is answered line by line with its failures.
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "../http/client.h"
#include "common/date.h"
#include "common/identifiers.h"
#include "http/server.h"
#include "jlis_process.h"
#include "linkage_signers.h"
#include "template_dir.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;

constexpr const char* kCity = "municipality-131016";
constexpr const char* kPension = "pension-service-1011105003233";

// What both suites do with their server: call it as a body, read the JSON.
class LinkageServer : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_ && server_->port() != 0) << "the set-up or the server failed"; }
  static void stop_server() {
    delete server_;
    server_ = nullptr;
  }
  // As the body whose token it is: a message (POST, PUT) signed with the body's key, and every
  // answer's signature checked as the body's software checks it (the platform's, over its bytes).
  static Reply call(bhttp::verb method, const std::string& target, const std::string& token,
                    const std::string& body = "") {
    http::testing::Headers headers = {{"Authorization", "Bearer " + token}};
    auto signer = signer_of_.find(token);
    if ((method == bhttp::verb::post || method == bhttp::verb::put) && signer != signer_of_.end())
      headers.emplace_back("JLIS-Signature", signers_.sign(signer->second, body));
    Reply r = Client(server_->port()).request(method, target, body, headers);
    if (signer != signer_of_.end() && target.starts_with("/v1/linkage/")) {
      EXPECT_EQ(signers_.platform_signed(r.body(), std::string(r["JLIS-Signature"])), "")
          << target << " answered " << r.result_int() << " " << r.body();
    }
    return r;
  }
  // Gives each body (token → body id) its signing key, on the data directory before it is served.
  static void certify(const std::string& dir, const std::map<std::string, std::string>& bodies) {
    std::vector<std::string> ids;
    for (const auto& [token, id] : bodies) ids.push_back(id);
    signers_.certify(dir, ids);
    signer_of_.insert(bodies.begin(), bodies.end());
  }
  static json body(const Reply& r) { return json::parse(r.body(), nullptr, false); }

  static inline Server* server_ = nullptr;
  static inline LinkageSigners signers_;
  static inline std::map<std::string, std::string> signer_of_;  // token → body id
};

class LinkageE2E : public LinkageServer {
 protected:
  static void SetUpTestSuite() {
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    dir_ = temp_dir("linkage");
    const auto out = prepared_dir(
        dir_, {{"init", "--data", "{dir}"},
               {"ca", "init", "--data", "{dir}"},
               {"linkage", "key", "--data", "{dir}"},
               {"lgpki", "init", "--data", "{dir}"},
               {"municipality", "token", "--data", "{dir}", "--code", "131016"},
               {"linkage", "body", "add", "--data", "{dir}", "--kind", "municipality", "--name", "千代田区", "--code",
                "131016"},
               {"linkage", "body", "add", "--data", "{dir}", "--kind", "pension-service", "--name", "日本年金機構",
                "--code", "1011105003233"},
               {"linkage", "body", "add", "--data", "{dir}", "--kind", "ministry", "--name", "厚生労働省", "--code",
                "6000012070001"}});
    ASSERT_EQ(out.size(), 8u) << out.back().err;
    for (const auto& o : out) ASSERT_EQ(o.exit_code, 0) << o.err;
    code_key_ = out[2].last_line();
    window_ = out[4].last_line();
    city_ = out[5].last_line();
    pension_ = out[6].last_line();
    ministry_ = out[7].last_line();
    certify(dir_, {{city_, kCity}, {pension_, kPension}, {ministry_, "ministry-6000012070001"}});
    server_ = new Server(dir_);
    ASSERT_NE(server_->port(), 0) << "jlis serve did not start";
  }
  static void TearDownTestSuite() {
    stop_server();
    std::filesystem::remove_all(dir_);
  }

  // A resident born in 千代田区 through the window's event route: {resident_code, my_number}.
  static std::pair<std::string, std::string> born(const std::string& event_id) {
    json e = {{"event_id", event_id}, {"type", "birth"}, {"date", "2001-02-03"},
              {"person", {{"name", "渡邊　結衣"}, {"name_kana", "ワタナベ　ユイ"}, {"date_of_birth", "2001-02-03"},
                          {"sex", "female"}, {"address", "東京都千代田区丸の内一丁目2番3号"}}}};
    auto r = call(bhttp::verb::post, "/v1/municipalities/131016/events", window_, e.dump());
    EXPECT_EQ(r.result_int(), 201) << r.body();
    json j = body(r);
    return {j.value("resident_code", ""), j.value("my_number", "")};
  }
  // The body's code for the person with `my_number`.
  static std::string code_of(const std::string& token, const std::string& my_number) {
    auto r = call(bhttp::verb::post, "/v1/linkage/codes", token, json{{"my_number", my_number}}.dump());
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return body(r).value("code", "");
  }
  static Reply ask(const std::string& token, const std::string& code, const std::vector<std::string>& items) {
    json q = {{"code", code}, {"procedure", "J031-01"}, {"provider", kCity}, {"items", items}};
    return call(bhttp::verb::post, "/v1/linkage/queries", token, q.dump());
  }

  static inline std::string dir_, window_, city_, pension_, ministry_, code_key_;
};

// Rule (the acceptance): a pension body asks for a resident's household and income by its own code
// and gets them; an item the legal table does not allow is refused with its rule; both records are
// on both bodies' lists and on the resident's disclosure, beside the registry's provisions of the
// resident code to the platform; the codes differ and nothing answered names the resident code or
// the My Number.
TEST_F(LinkageE2E, APensionBodyGetsHouseholdAndIncomeAndTheResidentSeesIt) {
  const auto [resident, my_number] = born("linkage-e2e-1");
  ASSERT_EQ(resident.size(), 11u);
  const std::string city_code = code_of(city_, my_number);
  const std::string pension_code = code_of(pension_, my_number);
  ASSERT_EQ(city_code.size(), 32u);
  ASSERT_EQ(pension_code.size(), 32u);
  EXPECT_NE(city_code, pension_code);
  EXPECT_EQ(code_of(pension_, my_number), pension_code) << "a body's code for a person is stable";

  auto put = call(bhttp::verb::put, "/v1/linkage/replicas/" + city_code, city_,
                  R"({"items":{"RS001":"3","RS002":"01","RS003":"2019-04-01","TX001":"4250000","TX005":"5100000"}})");
  ASSERT_EQ(put.result_int(), 200) << put.body();
  const std::string version = body(put).value("layout_version", "");
  EXPECT_FALSE(version.empty());

  std::vector<Reply> answers;
  answers.push_back(ask(pension_, pension_code, {"RS001", "RS002", "TX001", "TX004"}));
  ASSERT_EQ(answers.back().result_int(), 200) << answers.back().body();
  json a = body(answers.back());
  EXPECT_EQ(a["items"], (json{{"RS001", "3"}, {"RS002", "01"}, {"TX001", "4250000"}}));
  EXPECT_EQ(a["not_registered"], json::array({"TX004"}));
  EXPECT_EQ(a["layout_version"], version);

  answers.push_back(ask(pension_, pension_code, {"RS001", "RS004"}));
  EXPECT_EQ(answers.back().result_int(), 403) << answers.back().body();
  EXPECT_NE(answers.back().body().find("[item-not-allowed]"), std::string::npos) << answers.back().body();
  EXPECT_EQ(answers.back().body().find("\"3\""), std::string::npos) << "a refusal answers nothing of the replica";

  // Both bodies' lists hold the same two records, newest first.
  for (const std::string& token : {pension_, city_}) {
    auto r = call(bhttp::verb::get, "/v1/linkage/records", token);
    ASSERT_EQ(r.result_int(), 200) << r.body();
    json records = body(r)["records"];
    ASSERT_EQ(records.size(), 2u) << r.body();
    EXPECT_EQ(records[0]["outcome"], "refused");
    EXPECT_EQ(records[0]["reason"], "item-not-allowed");
    EXPECT_EQ(records[1]["outcome"], "provided");
    EXPECT_EQ(records[1]["query_id"], a["query_id"]);
    EXPECT_EQ(records[1]["requester"], kPension);
    EXPECT_EQ(records[1]["provider"], kCity);
    answers.push_back(r);
  }
  // The resident's disclosure (at the window): the registry's provision of the resident code to the
  // platform, once per code asked (the pension service asked twice), and the platform's two records.
  auto disclosure = call(bhttp::verb::get, "/v1/residents/" + resident + "/provisions", window_);
  ASSERT_EQ(disclosure.result_int(), 200) << disclosure.body();
  json d = body(disclosure);
  ASSERT_EQ(d["linkage_records"].size(), 2u) << disclosure.body();
  EXPECT_EQ(d["linkage_records"][1]["query_id"], a["query_id"]);
  std::multiset<std::string> purposes;
  for (const auto& p : d["provisions"])
    if (p["agency_id"] == "linkage-platform") purposes.insert(p["purpose"].get<std::string>());
  EXPECT_EQ(purposes, (std::multiset<std::string>{std::string("linkage code for ") + kCity,
                                                  std::string("linkage code for ") + kPension,
                                                  std::string("linkage code for ") + kPension}));

  answers.push_back(put);
  answers.push_back(call(bhttp::verb::get, "/v1/linkage/replicas/" + city_code, city_));
  EXPECT_EQ(body(answers.back())["items"]["TX001"], "4250000");
  for (const Reply& r : answers) {
    EXPECT_EQ(r.body().find(resident), std::string::npos) << r.body();
    EXPECT_EQ(r.body().find(my_number), std::string::npos) << r.body();
  }
  EXPECT_EQ(answers[0].body().find(city_code), std::string::npos) << "the provider's code never reaches the requester";
}

// Rule (issue 11 §3: every request and answer signed by its sender): the platform's answer to a
// body, a refusal included, carries its CMS signature over the exact body, which openssl cms verifies
// from the LGPKI root with the S/MIME signing purpose, naming the platform's own certificate; the
// same signature fails over altered bytes; a caller that is not a body gets its 401 unsigned.
// Rule (platform.h, `jlis linkage key`): the key ceremony makes the code key once, in the key
// store, and prints the SHA-256 of its public key, which OpenSSL computes the same from the file;
// the server makes no other (a second ceremony while it serves prints the same fingerprint).
TEST_F(LinkageE2E, TheKeyCeremonysCodeKeyIsTheOneTheServerKeeps) {
  ASSERT_EQ(code_key_.size(), 64u) << code_key_;
  const auto by_openssl =
      shell("openssl pkey -in " + quote(dir_ + "/pki/keys/linkage-code-key.key.pem") +
            " -passin env:JLIS_CA_PASSPHRASE -pubout -outform DER | sha256sum");
  ASSERT_EQ(by_openssl.exit_code, 0) << by_openssl.err;
  EXPECT_EQ(by_openssl.out.substr(0, 64), code_key_);
  EXPECT_FALSE(code_of(pension_, born("linkage-key-1").second).empty());  // the served key makes codes
  const auto again = jlis({"linkage", "key", "--data", dir_});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.last_line(), code_key_);
  ::unsetenv("JLIS_CA_PASSPHRASE");
  const auto without = jlis({"linkage", "key", "--data", dir_});
  ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
  EXPECT_NE(without.exit_code, 0);
  EXPECT_NE(without.err.find("JLIS_CA_PASSPHRASE"), std::string::npos) << without.err;
}

TEST_F(LinkageE2E, EveryAnswerToABodyIsSignedByThePlatform) {
  const std::string code = code_of(pension_, born("linkage-e2e-sig").second);
  const Reply answers[] = {ask(pension_, code, {"RS001"}), ask(pension_, code, {"RS004"})};
  ASSERT_EQ(answers[0].result_int(), 200) << answers[0].body();
  ASSERT_EQ(answers[1].result_int(), 403) << answers[1].body();
  const std::string dir = temp_dir("linkage-answer");
  std::filesystem::create_directories(dir);
  write_file(dir + "/root.pem", signers_.root_pem());
  for (const Reply& r : answers) {
    write_file(dir + "/answer.json", r.body());
    auto signature = pki::base64_decode(std::string(r["JLIS-Signature"]));
    ASSERT_TRUE(signature.ok()) << "the answer is not signed: " << r.body();
    write_file(dir + "/answer.p7s", *signature);
    const std::string verify = "cd " + quote(dir) +
                               " && openssl cms -verify -binary -inform DER -in answer.p7s -purpose smimesign "
                               "-CAfile root.pem -out /dev/null -signer signer.pem -content ";
    Output out = shell(verify + "answer.json");
    EXPECT_EQ(out.exit_code, 0) << out.out;
    EXPECT_NE(out.out.find("Verification successful"), std::string::npos) << out.out;
    out = shell("openssl x509 -noout -subject -nameopt RFC2253 -in " + quote(dir + "/signer.pem"));
    EXPECT_NE(out.out.find("OU=Information-Linkage Platform"), std::string::npos) << out.out;
    write_file(dir + "/altered.json", r.body() + " ");
    out = shell(verify + "altered.json");
    EXPECT_NE(out.exit_code, 0) << "a signature over other bytes: " << out.out;
  }
  const Reply anonymous = Client(server_->port()).get("/v1/linkage/bodies");
  EXPECT_EQ(anonymous.result_int(), 401) << anonymous.body();
  EXPECT_EQ(anonymous.count("JLIS-Signature"), 0u);
  std::filesystem::remove_all(dir);
}

// The city's own system (its endpoint) as the platform reaches it: it checks that each forwarded
// query is the platform's, signed over its bytes, remembers it, and answers as `mode` says, signed.
class ProviderSystem {
 public:
  // hangs: holds each query until release() (or 20 s), then answers.
  enum class Mode { answers, answers_an_item_not_asked, signed_by_another_body, removes_the_asker_first, hangs };
  ProviderSystem(const LinkageSigners& signers, std::string dir, std::string self, std::string other)
      : signers_(signers),
        dir_(std::move(dir)),
        self_(std::move(self)),
        other_(std::move(other)),
        server_(http::ServerOptions{}) {
    server_.route("POST", "/answer", [this](const http::Request& req) {
      std::unique_lock lock(mu_);
      const json asked = json::parse(req.body, nullptr, false);
      seen_.push_back(asked);
      if (mode_ == Mode::hangs)
        released_.wait_for(lock, std::chrono::seconds(20), [&] { return mode_ != Mode::hangs; });
      if (mode_ == Mode::removes_the_asker_first) {  // an operator removes it while the city answers
        const Output removed = jlis({"linkage", "body", "remove", "--data", dir_, "--body",
                                     asked.value("requester", ""), "--by", "e2e"});
        EXPECT_EQ(removed.exit_code, 0) << removed.err;
      }
      verified_.push_back(signers_.platform_signed(req.body, req.header("jlis-signature")));
      json items = {{"RS001", "4"}, {"TX001", "4300000"}};
      if (mode_ == Mode::answers_an_item_not_asked) items["TX005"] = "1";
      const std::string body = json{{"query_id", asked.value("query_id", "")}, {"items", items}}.dump();
      http::Response r = http::Response::json(200, body);
      r.headers = {{"JLIS-Signature", signers_.sign(mode_ == Mode::signed_by_another_body ? other_ : self_, body)}};
      return r;
    });
    EXPECT_TRUE(server_.start().is_ok());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()) + "/answer"; }
  void set(Mode m) {
    std::lock_guard lock(mu_);
    mode_ = m;
    released_.notify_all();
  }
  std::vector<json> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::vector<std::string> verified() {
    std::lock_guard lock(mu_);
    return verified_;
  }

 private:
  const LinkageSigners& signers_;
  const std::string dir_, self_, other_;
  std::mutex mu_;
  std::condition_variable released_;
  Mode mode_ = Mode::answers;
  std::vector<json> seen_;
  std::vector<std::string> verified_;
  http::Server server_;  // last: stopped before the rest goes
};

// Rule (issue 11 §3: "forwards to the provider when live data is required"; 自動応答不可): a person
// the city answers itself is never read from its replica: the platform forwards the allowed query,
// signed, to the city's endpoint with the city's own code for the person (not the asker's, not the
// resident code), and answers what the city's system answered, signed by the city, as
// "answered_by": "provider", recorded provided. An answer naming an item not asked, or signed by a
// certificate not the city's, is 502 [provider-unavailable], recorded failed; a refused query is
// never forwarded; a bulk line about the person is refused [live-only]; without an endpoint the flag
// is 409; cleared, the replica answers again; an asker removed meanwhile gets nothing, recorded
// failed [body-removed].
TEST_F(LinkageE2E, APersonTheProviderAnswersItselfIsForwardedToItsSystem) {
  const auto [resident, my_number] = born("linkage-e2e-live");
  const std::string city_code = code_of(city_, my_number);
  const std::string pension_code = code_of(pension_, my_number);
  ASSERT_EQ(call(bhttp::verb::put, "/v1/linkage/replicas/" + city_code, city_,
                 R"({"items":{"RS001":"3","TX001":"4250000"}})")
                .result_int(),
            200);
  const std::string live = "/v1/linkage/replicas/" + city_code + "/live";
  auto r = call(bhttp::verb::put, live, city_, R"({"live":true})");
  EXPECT_EQ(r.result_int(), 409) << "no endpoint yet: " << r.body();

  ProviderSystem city_system(signers_, dir_, kCity, kPension);
  const Output set = jlis({"linkage", "body", "endpoint", "--data", dir_, "--body", kCity, "--url", city_system.url()});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  r = call(bhttp::verb::put, live, city_, R"({"live":true})");
  ASSERT_EQ(r.result_int(), 200) << r.body();

  r = ask(pension_, pension_code, {"RS001", "TX001", "TX004"});
  ASSERT_EQ(r.result_int(), 200) << r.body();
  const json a = body(r);
  EXPECT_EQ(a["answered_by"], "provider");
  EXPECT_EQ(a["items"], (json{{"RS001", "4"}, {"TX001", "4300000"}})) << "the system's values, not the replica's";
  EXPECT_EQ(a["not_registered"], json::array({"TX004"}));
  ASSERT_EQ(city_system.seen().size(), 1u);
  const json forwarded = city_system.seen().front();
  EXPECT_EQ(forwarded["code"], city_code);
  EXPECT_EQ(forwarded["requester"], kPension);
  EXPECT_EQ(forwarded["query_id"], a["query_id"]);
  EXPECT_EQ(forwarded["items"], json::array({"RS001", "TX001", "TX004"}));
  EXPECT_EQ(forwarded.dump().find(pension_code), std::string::npos);
  EXPECT_EQ(forwarded.dump().find(resident), std::string::npos);
  EXPECT_EQ(forwarded.dump().find(my_number), std::string::npos);
  EXPECT_EQ(city_system.verified().front(), "") << "the forwarded query is the platform's, signed";

  r = ask(pension_, pension_code, {"RS004"});
  EXPECT_EQ(r.result_int(), 403) << r.body();
  EXPECT_EQ(city_system.seen().size(), 1u) << "a refused query is never forwarded";

  city_system.set(ProviderSystem::Mode::answers_an_item_not_asked);
  r = ask(pension_, pension_code, {"RS001", "TX001"});
  EXPECT_EQ(r.result_int(), 502) << r.body();
  EXPECT_NE(r.body().find("[provider-unavailable]"), std::string::npos) << r.body();
  EXPECT_EQ(r.body().find("4300000"), std::string::npos) << r.body();
  city_system.set(ProviderSystem::Mode::signed_by_another_body);
  r = ask(pension_, pension_code, {"RS001"});
  EXPECT_EQ(r.result_int(), 502) << r.body();
  EXPECT_EQ(city_system.seen().size(), 3u);

  auto records = body(call(bhttp::verb::get, "/v1/linkage/records?limit=4", city_))["records"];
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0]["outcome"], "failed");
  EXPECT_EQ(records[0]["reason"], "provider-unavailable");
  EXPECT_EQ(records[1]["outcome"], "failed");
  EXPECT_EQ(records[2]["outcome"], "refused");
  EXPECT_EQ(records[3]["outcome"], "provided");
  EXPECT_EQ(records[3]["query_id"], a["query_id"]);

  const std::string line = json{{"code", pension_code}, {"procedure", "J031-01"}, {"provider", kCity},
                                {"items", json::array({"TX001"})}}
                               .dump();
  auto submitted = call(bhttp::verb::post, "/v1/linkage/bulk-jobs", pension_, line + "\n");
  ASSERT_EQ(submitted.result_int(), 202) << submitted.body();
  const std::string job = body(submitted)["job_id"].get<std::string>();
  json results;
  for (int i = 0; i < 300 && results.empty(); ++i) {
    results = body(call(bhttp::verb::get, "/v1/linkage/bulk-jobs/" + job + "/results", pension_))["results"];
    if (results.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(results.size(), 1u);
  EXPECT_NE(results[0].dump().find("[live-only]"), std::string::npos) << results.dump();
  EXPECT_EQ(city_system.seen().size(), 3u) << "a bulk job never waits on a provider";

  ASSERT_EQ(call(bhttp::verb::put, live, city_, R"({"live":false})").result_int(), 200);
  r = ask(pension_, pension_code, {"TX001"});
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(body(r)["answered_by"], "replica");
  EXPECT_EQ(body(r)["items"], (json{{"TX001", "4250000"}}));
  EXPECT_EQ(city_system.seen().size(), 3u);

  // The asker removed while the city's system answers: nothing is delivered, and the record says why.
  ASSERT_EQ(call(bhttp::verb::put, live, city_, R"({"live":true})").result_int(), 200);
  city_system.set(ProviderSystem::Mode::removes_the_asker_first);
  r = ask(pension_, pension_code, {"TX001"});
  EXPECT_EQ(r.result_int(), 403) << r.body();
  EXPECT_EQ(r.body().find("4300000"), std::string::npos) << r.body();
  EXPECT_EQ(city_system.seen().size(), 4u);
  records = body(call(bhttp::verb::get, "/v1/linkage/records?limit=1", city_))["records"];
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["outcome"], "failed");
  EXPECT_EQ(records[0]["reason"], "body-removed");
}

// Rule: a provider's system that hangs holds at most two of the platform's workers (Forwarding's
// per_provider): a third forwarded query to it is not sent, answered 503 [provider-busy] at once and
// recorded failed, while queries the replicas answer go on; the two held queries are answered when
// the system answers, and then forwarding works again.
TEST_F(LinkageE2E, AHangingProviderSystemHoldsAtMostTwoWorkers) {
  const std::string my_number = born("linkage-e2e-hang").second;
  const std::string city_code = code_of(city_, my_number), pension_code = code_of(pension_, my_number);
  const std::string other = code_of(pension_, born("linkage-e2e-hang-2").second);
  ASSERT_EQ(call(bhttp::verb::put, "/v1/linkage/replicas/" + city_code, city_,
                 R"({"items":{"TX001":"1"}})").result_int(), 200);
  ProviderSystem city_system(signers_, dir_, kCity, kPension);
  const Output set = jlis({"linkage", "body", "endpoint", "--data", dir_, "--body", kCity, "--url", city_system.url()});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  ASSERT_EQ(call(bhttp::verb::put, "/v1/linkage/replicas/" + city_code + "/live", city_, R"({"live":true})")
                .result_int(), 200);
  city_system.set(ProviderSystem::Mode::hangs);
  auto held1 = std::async(std::launch::async, [&] { return ask(pension_, pension_code, {"RS001", "TX001"}); });
  auto held2 = std::async(std::launch::async, [&] { return ask(pension_, pension_code, {"RS001", "TX001"}); });
  for (int i = 0; i < 200 && city_system.seen().size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(city_system.seen().size(), 2u);

  Reply r = ask(pension_, pension_code, {"RS001", "TX001"});
  EXPECT_EQ(r.result_int(), 503) << r.body();
  EXPECT_NE(r.body().find("[provider-busy]"), std::string::npos) << r.body();
  EXPECT_EQ(city_system.seen().size(), 2u) << "not sent";
  auto records = body(call(bhttp::verb::get, "/v1/linkage/records?limit=1", pension_))["records"];
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["outcome"], "failed");
  EXPECT_EQ(records[0]["reason"], "provider-busy");
  r = ask(pension_, other, {"RS001", "TX001"});
  EXPECT_EQ(r.result_int(), 200) << "a replica's answer meanwhile: " << r.body();
  EXPECT_EQ(body(r)["answered_by"], "replica");

  city_system.set(ProviderSystem::Mode::answers);
  for (auto* held : {&held1, &held2}) {
    const Reply answered = held->get();
    EXPECT_EQ(answered.result_int(), 200) << answered.body();
    EXPECT_EQ(body(answered)["answered_by"], "provider");
  }
  r = ask(pension_, pension_code, {"RS001", "TX001"});
  EXPECT_EQ(r.result_int(), 200) << "the slots are back: " << r.body();
  EXPECT_EQ(city_system.seen().size(), 3u);
}

// Rule: a replica is validated whole: one bad item refuses all, naming item and rule, and nothing is
// written; an empty value withdraws an item.
TEST_F(LinkageE2E, AReplicaIsValidatedWholeAndAnEmptyValueWithdraws) {
  const std::string code = code_of(city_, born("linkage-e2e-2").second);
  auto put = [&](const std::string& items) {
    return call(bhttp::verb::put, "/v1/linkage/replicas/" + code, city_, R"({"items":)" + items + "}");
  };
  ASSERT_EQ(put(R"({"RS001":"2","TX001":"100"})").result_int(), 200);
  auto bad = put(R"({"RS001":"4","TX001":"abc"})");
  EXPECT_EQ(bad.result_int(), 400) << bad.body();
  EXPECT_NE(bad.body().find("TX001"), std::string::npos) << bad.body();
  EXPECT_NE(bad.body().find("[wrong-type]"), std::string::npos) << bad.body();
  ASSERT_EQ(put(R"({"TX001":""})").result_int(), 200);
  auto now = call(bhttp::verb::get, "/v1/linkage/replicas/" + code, city_);
  ASSERT_EQ(now.result_int(), 200) << now.body();
  EXPECT_EQ(body(now)["items"], (json{{"RS001", "2"}}));
  EXPECT_EQ(put("{}").result_int(), 400);
  EXPECT_EQ(put(R"({"RS001":3})").result_int(), 400);
}

// Rule: the refusals a body meets over HTTP, each its code and JSON: a ministry gets no code (403),
// a number never issued 404, a malformed one 400; a query by an unknown code 404 (recorded), by a
// malformed one 400; a bad limit 400; the body list names every body.
TEST_F(LinkageE2E, RefusalsAnswerTheirCodes) {
  const std::string my_number = born("linkage-e2e-3").second;
  auto r = call(bhttp::verb::post, "/v1/linkage/codes", ministry_, json{{"my_number", my_number}}.dump());
  EXPECT_EQ(r.result_int(), 403) << r.body();
  r = call(bhttp::verb::post, "/v1/linkage/codes", pension_,
           json{{"my_number", MyNumber::from_body(99999999999).str()}}.dump());
  EXPECT_EQ(r.result_int(), 404) << "a number never issued: " << r.body();
  r = call(bhttp::verb::post, "/v1/linkage/codes", pension_, R"({"my_number":"12345"})");
  EXPECT_EQ(r.result_int(), 400) << r.body();
  r = call(bhttp::verb::post, "/v1/linkage/codes", pension_, "{}");
  EXPECT_EQ(r.result_int(), 400) << r.body();
  const std::string city_code = code_of(city_, my_number);
  r = ask(pension_, city_code, {"RS001"});
  EXPECT_EQ(r.result_int(), 404) << "another body's code is unknown to the caller: " << r.body();
  EXPECT_NE(r.body().find("[unknown-code]"), std::string::npos) << r.body();
  r = ask(pension_, "not-a-code", {"RS001"});
  EXPECT_EQ(r.result_int(), 400) << r.body();
  r = call(bhttp::verb::get, "/v1/linkage/records?limit=0", pension_);
  EXPECT_EQ(r.result_int(), 400) << r.body();
  r = call(bhttp::verb::get, "/v1/linkage/bodies", pension_);
  ASSERT_EQ(r.result_int(), 200) << r.body();
  std::set<std::string> ids;
  const json bodies = body(r)["bodies"];
  for (const auto& b : bodies) ids.insert(b["body_id"].get<std::string>());
  EXPECT_EQ(ids, (std::set<std::string>{kCity, kPension, "ministry-6000012070001"}));
}

// Rule: a bulk job over HTTP: a file over the ordinary 1 MiB body limit is taken (202 and the job),
// jlis serve's runner answers it without being asked, the progress ends done with the failures
// counted, and the results list every line, or only the failed ones, by line number; another
// body's job is 404.
TEST_F(LinkageE2E, ABulkJobIsAnsweredWithItsFailuresByLine) {
  const std::string my_number = born("linkage-e2e-4").second;
  const std::string city_code = code_of(city_, my_number);
  ASSERT_EQ(call(bhttp::verb::put, "/v1/linkage/replicas/" + city_code, city_, R"({"items":{"TX001":"777"}})")
                .result_int(),
            200);
  const std::string pension_code = code_of(pension_, my_number);
  // 1,000 lines of about 1.1 kB (the queries padded with spaces JSON allows): 1.1 MB. Every tenth
  // asks an item the table does not allow.
  std::string file;
  for (int i = 1; i <= 1000; ++i)
    file += json{{"code", pension_code}, {"procedure", "J031-01"}, {"provider", kCity},
                 {"items", i % 10 == 0 ? json::array({"RS004"}) : json::array({"TX001"})}}
                .dump()
                .insert(1, std::string(1024, ' ')) +
            "\n";
  ASSERT_GT(file.size(), size_t{1} << 20);
  auto submitted = call(bhttp::verb::post, "/v1/linkage/bulk-jobs", pension_, file);
  ASSERT_EQ(submitted.result_int(), 202) << submitted.body();
  const json job = body(submitted);
  EXPECT_EQ(job["total"], 1000);
  const std::string id = job["job_id"].get<std::string>();
  json progress;
  for (int i = 0; i < 600; ++i) {
    progress = body(call(bhttp::verb::get, "/v1/linkage/bulk-jobs/" + id, pension_));
    if (progress["state"] == "done") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(progress["state"], "done") << progress.dump();
  EXPECT_EQ(progress["done"], 1000);
  EXPECT_EQ(progress["failed"], 100);

  auto failed = call(bhttp::verb::get, "/v1/linkage/bulk-jobs/" + id + "/results?failed=true&limit=1000", pension_);
  ASSERT_EQ(failed.result_int(), 200) << failed.body();
  const json listed = body(failed)["results"];
  ASSERT_EQ(listed.size(), 100u);
  for (size_t k = 0; k < listed.size(); ++k) {
    EXPECT_EQ(listed[k]["line"], 10 * (k + 1));
    EXPECT_EQ(listed[k]["error"]["code"], "permission_denied");
  }
  EXPECT_TRUE(body(failed)["next_after"].is_null());
  auto page = call(bhttp::verb::get, "/v1/linkage/bulk-jobs/" + id + "/results?after=8&limit=2", pension_);
  ASSERT_EQ(page.result_int(), 200) << page.body();
  const json p = body(page);
  ASSERT_EQ(p["results"].size(), 2u);
  EXPECT_EQ(p["results"][0]["items"]["TX001"], "777");
  EXPECT_EQ(p["results"][1]["line"], 10);
  EXPECT_EQ(p["next_after"], 10);
  EXPECT_EQ(page.body().find(my_number), std::string::npos);

  EXPECT_EQ(call(bhttp::verb::get, "/v1/linkage/bulk-jobs/" + id, city_).result_int(), 404);
  EXPECT_EQ(call(bhttp::verb::get, "/v1/linkage/bulk-jobs/" + id + "/results", city_).result_int(), 404);
  EXPECT_EQ(call(bhttp::verb::post, "/v1/linkage/bulk-jobs", pension_, "\n").result_int(), 400);
  EXPECT_EQ(call(bhttp::verb::get, "/v1/linkage/bulk-jobs/" + id + "/results?failed=maybe", pension_).result_int(),
            400);
}

// The replicas without manual work, through `jlis serve` on a generated population (households and
// three years of tax records): once a municipality is a registered body, its residents' household
// and tax items reach its replica by the server's own sweep, and the pension service's query
// answers them.
class LinkageRecordsE2E : public LinkageServer {
 protected:
  static void SetUpTestSuite() {
    dir_ = temp_dir("linkage-records");
    // No CA here: LGPKI's keys and the platform's code key are encrypted files under the passphrase.
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    const auto out =
        prepared_dir(dir_, {{"init", "--data", "{dir}", "--simulation"},
                            {"lgpki", "init", "--data", "{dir}"},
                            {"population", "generate", "--data", "{dir}", "--count", "60", "--seed", "7"},
                            {"linkage", "body", "add", "--data", "{dir}", "--kind", "pension-service", "--name",
                             "日本年金機構", "--code", "1011105003233"}});
    ASSERT_EQ(out.size(), 4u) << out.back().err;
    for (const auto& o : out) ASSERT_EQ(o.exit_code, 0) << o.err;
    pension_ = out[3].last_line();
    // A resident of working age (assessed) whose municipality is a city, town or village (a ward's
    // body would be its designated city): the city registers as a body.
    auto csv = jlis({"residents", "export", "--data", dir_});
    ASSERT_EQ(csv.exit_code, 0) << csv.err;
    std::istringstream in(csv.out);
    std::string line;
    std::getline(in, line);  // resident_code,name,name_kana,date_of_birth,sex,address,municipality_code,status
    const int this_year = std::stoi(Date::today().to_iso().substr(0, 4));
    while (std::getline(in, line) && city_.empty()) {
      std::vector<std::string> f;
      std::istringstream row(line);
      for (std::string cell; std::getline(row, cell, ',');) f.push_back(cell);
      if (f.size() != 8 || f[7] != "resident") continue;
      const int age = this_year - std::stoi(f[3].substr(0, 4));
      if (age < 30 || age > 60) continue;
      auto added = jlis({"linkage", "body", "add", "--data", dir_, "--kind", "municipality", "--name", "市", "--code",
                         f[6]});
      if (added.exit_code != 0) continue;  // a ward
      resident_ = f[0];
      municipality_ = f[6];
      city_ = added.last_line();
    }
    ASSERT_FALSE(city_.empty()) << "no resident of working age in a city";
    auto token = jlis({"municipality", "token", "--data", dir_, "--code", municipality_});
    ASSERT_EQ(token.exit_code, 0) << token.err;
    window_ = token.last_line();
    certify(dir_, {{pension_, kPension}, {city_, "municipality-" + municipality_}});
    server_ = new Server(dir_, {"--components", "registry,municipal,linkage", "--linkage-refresh-seconds", "0.2"});
    ASSERT_NE(server_->port(), 0) << "jlis serve did not start";
  }
  static void TearDownTestSuite() {
    stop_server();
    std::filesystem::remove_all(dir_);
  }

  static inline std::string dir_, pension_, city_, window_, resident_, municipality_;
};

// Rule: the city's replica follows its records with no PUT: the household's size (RS001) is the
// household's, the tax items are there; the pension service's query answers the same.
TEST_F(LinkageRecordsE2E, TheCitysRecordsReachThePensionServiceWithoutManualWork) {
  auto person = call(bhttp::verb::get, "/v1/residents/" + resident_ + "?purpose=linkage", window_);
  ASSERT_EQ(person.result_int(), 200) << person.body();
  const std::string my_number = body(person).value("my_number", "");
  ASSERT_EQ(my_number.size(), 12u) << person.body();
  auto household = call(bhttp::verb::get, "/v1/municipalities/" + municipality_ + "/households/" + resident_, window_);
  ASSERT_EQ(household.result_int(), 200) << household.body();
  const size_t members = body(household)["members"].size();

  std::string codes[2];
  for (int i = 0; i < 2; ++i) {
    auto r = call(bhttp::verb::post, "/v1/linkage/codes", i == 0 ? city_ : pension_, json{{"my_number", my_number}}.dump());
    ASSERT_EQ(r.result_int(), 200) << r.body();
    codes[i] = body(r).value("code", "");
  }
  json replica;
  for (int i = 0; i < 100 && !replica.contains("RS001"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    replica = body(call(bhttp::verb::get, "/v1/linkage/replicas/" + codes[0], city_))["items"];
  }
  ASSERT_TRUE(replica.contains("RS001")) << "the sweep did not reach the replica: " << replica.dump();
  EXPECT_EQ(replica["RS001"], std::to_string(members));
  for (const char* item : {"RS002", "RS003", "TX004"}) EXPECT_TRUE(replica.contains(item)) << item;
  EXPECT_NE(replica["TX004"], "3") << "a resident of working age was assessed: " << replica.dump();

  json q = {{"code", codes[1]},
            {"procedure", "J031-01"},
            {"provider", "municipality-" + municipality_},
            {"items", {"RS001", "RS002", "TX001", "TX004", "TX005"}}};
  auto answer = call(bhttp::verb::post, "/v1/linkage/queries", pension_, q.dump());
  ASSERT_EQ(answer.result_int(), 200) << answer.body();
  const json answered = body(answer)["items"];  // kept: a temporary's member would not outlive the loop
  for (const auto& [item, value] : answered.items()) EXPECT_EQ(value, replica[item]) << item;
  EXPECT_EQ(answered["RS001"], std::to_string(members));
}

}  // namespace
}  // namespace jlis::e2e
