// The municipal routes as their callers use them, through `jlis serve` on a generated population
// whose cards carry certificates: the issuance centre gets a kiosk document for a card holder (the
// PDF read back with pdftotext) and the holder's disclosure lists it; an agency reads 附票本人確認情報
// by resident code, My Number and search, each recorded and disclosed as such; a municipality reads
// a household and files a 世帯主変更, and registers, changes and abolishes a seal; the 本籍
// municipality files a birth and a death into a generated family register.
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../http/client.h"
#include "common/date.h"
#include "jlis_process.h"
#include "municipal/seal_registration.h"
#include "pki/openssl.h"
#include "template_dir.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;

struct Generated {
  std::string code, name, kana, date_of_birth, municipality, status;
};

class MunicipalRoutesE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    dir_ = new std::string(temp_dir("municipal-routes"));
    const auto out = prepared_dir(
        *dir_, {{"init", "--data", "{dir}", "--simulation"},
                {"ca", "init", "--data", "{dir}"},
                {"population", "generate", "--data", "{dir}", "--count", "300", "--seed", "11", "--key-pool", "4"},
                {"token", "create", "--data", "{dir}", "--role", "issuance-centre", "--name", "Kiosk centre"},
                {"agency", "add", "--data", "{dir}", "--name", "Pension", "--purposes", "pension"},
                {"linkage", "key", "--data", "{dir}"}});
    ASSERT_EQ(out.size(), 6u) << out.back().err;
    for (const auto& o : out) ASSERT_EQ(o.exit_code, 0) << o.err;
    centre_ = new std::string(out[3].last_line());
    agency_ = new std::string(out[4].last_line());
    auto csv = jlis({"residents", "export", "--data", *dir_});
    ASSERT_EQ(csv.exit_code, 0) << csv.err;
    std::istringstream in(csv.out);
    std::string line;
    std::getline(in, line);  // resident_code,name,name_kana,date_of_birth,sex,address,municipality_code,status
    people_ = new std::vector<Generated>();
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::istringstream row(line);
      for (std::string cell; std::getline(row, cell, ',');) f.push_back(cell);
      if (f.size() == 8) people_->push_back({f[0], f[1], f[2], f[3], f[6], f[7]});
    }
    ASSERT_GT(people_->size(), 250u);
    server_ = new Server(*dir_);
    ASSERT_NE(server_->port(), 0);
  }
  static void TearDownTestSuite() {
    delete server_;
    if (dir_) std::filesystem::remove_all(*dir_);
    delete dir_;
    delete centre_;
    delete agency_;
    delete people_;
    delete tokens_;
  }
  void SetUp() override { ASSERT_TRUE(server_ && server_->port() != 0) << "the population or the server failed"; }

  static Reply get(const std::string& target, const std::string& token) {
    return Client(server_->port()).get(target, {{"Authorization", "Bearer " + token}});
  }
  static Reply post(const std::string& target, const std::string& body, const std::string& token) {
    return Client(server_->port()).request(bhttp::verb::post, target, body, {{"Authorization", "Bearer " + token}});
  }
  // A token of municipality `code` (made once).
  static const std::string& municipality(const std::string& code) {
    if (!tokens_) tokens_ = new std::map<std::string, std::string>();
    auto it = tokens_->find(code);
    if (it == tokens_->end()) {
      Output o = jlis({"municipality", "token", "--data", *dir_, "--code", code});
      EXPECT_EQ(o.exit_code, 0) << o.err;
      it = tokens_->emplace(code, o.last_line()).first;
    }
    return it->second;
  }
  // Residents living in their municipality.
  static std::vector<Generated> living() {
    std::vector<Generated> out;
    for (const auto& p : *people_)
      if (p.status == "resident") out.push_back(p);
    return out;
  }
  // The good user-authentication certificate of `p`'s card, "" when none.
  static std::string authentication_serial(const Generated& p) {
    auto r = get("/v1/residents/" + p.code + "/certificates", municipality(p.municipality));
    if (r.result_int() != 200) return "";
    const json list = json::parse(r.body())["certificates"];  // kept: iterating a temporary's member is UB
    for (const auto& c : list)
      if (c["kind"] == "authentication" && c["device"] == "card" && c["status"] == "good") return c["serial"];
    return "";
  }
  static json disclosure(const Generated& p) {
    auto r = get("/v1/residents/" + p.code + "/provisions", municipality(p.municipality));
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return json::parse(r.body(), nullptr, false);
  }
  static inline std::string* dir_ = nullptr;
  static inline std::string* centre_ = nullptr;
  static inline std::string* agency_ = nullptr;
  static inline std::vector<Generated>* people_ = nullptr;
  static inline std::map<std::string, std::string>* tokens_ = nullptr;
  static inline Server* server_ = nullptr;
};

// Rule: the issuance centre, naming the authentication certificate of a card holder's log-in, gets
// that holder's 住民票の写し from their municipality as a PDF with their name; the issuance, with
// its kiosk session and number, is in the holder's disclosure; the offer lists the six documents.
TEST_F(MunicipalRoutesE2E, TheCentreGetsACardHoldersDocumentAndTheHoldersDisclosureListsIt) {
  Generated holder;
  std::string serial;
  for (const auto& p : living()) {
    serial = authentication_serial(p);
    if (!serial.empty()) {
      holder = p;
      break;
    }
  }
  ASSERT_FALSE(serial.empty()) << "no generated resident holds a card with certificates";

  auto offer = get("/v1/issuance/" + holder.municipality + "/offer", *centre_);
  ASSERT_EQ(offer.result_int(), 200) << offer.body();
  EXPECT_EQ(json::parse(offer.body())["documents"].size(), 6u) << offer.body();

  const json request = {{"certificate_serial", serial}, {"session", "ks-e2e-1"}, {"type", "juminhyo"},
                        {"members", "all"}, {"items", {"household"}}};
  auto r = post("/v1/issuance/" + holder.municipality + "/documents", request.dump(), *centre_);
  ASSERT_EQ(r.result_int(), 200) << r.body();
  const std::string number(r["X-Issuance-Number"]);
  EXPECT_EQ(number.rfind(holder.municipality + "-", 0), 0u) << number;
  EXPECT_EQ(std::string(r["X-Fee"]), "200");
  const std::string pdf = *dir_ + "/kiosk.pdf";
  write_file(pdf, r.body());
  const std::string folded = pdf_text(pdf);
  EXPECT_NE(folded.find(ascii_spaced(holder.name)), std::string::npos) << holder.name;
  EXPECT_EQ(folded.find(holder.code), std::string::npos) << "a 住民票の写し never prints the resident code";

  const json issuances = disclosure(holder)["issuances"];
  int listed = 0;
  for (const auto& i : issuances)
    listed += i["issuance_number"] == number && i["session"] == "ks-e2e-1" && i["channel"] == "kiosk" &&
              i["outcome"] == "issued";
  EXPECT_EQ(listed, 1);
}

// Rule: an agency reads 附票本人確認情報 for its granted purpose by resident code, by My Number and
// by search; each person answered is recorded as provided, and the disclosure says it was the
// 附票's information.
TEST_F(MunicipalRoutesE2E, AnAgencyReadsFuhyoIdentityAndEveryProvisionIsRecordedAsSuch) {
  Generated person;
  json identity;
  for (const auto& p : living()) {
    auto r = get("/v1/fuhyo/" + p.code + "?purpose=pension", *agency_);
    if (r.result_int() == 200) {
      person = p;
      identity = json::parse(r.body());
      break;
    }
    ASSERT_EQ(r.result_int(), 404) << r.body();
  }
  ASSERT_FALSE(person.code.empty()) << "no generated resident has a 附票";
  EXPECT_EQ(identity["resident_code"], person.code);
  EXPECT_EQ(identity["name"], person.name);
  EXPECT_EQ(identity["name_kana"], person.kana);
  EXPECT_EQ(identity["date_of_birth"], person.date_of_birth);
  EXPECT_EQ(identity["abroad"], false);

  auto resident = get("/v1/residents/" + person.code + "?purpose=pension", *agency_);
  ASSERT_EQ(resident.result_int(), 200) << resident.body();
  const std::string my_number = json::parse(resident.body())["my_number"];
  auto by_number = get("/v1/fuhyo?my_number=" + my_number + "&purpose=pension", *agency_);
  ASSERT_EQ(by_number.result_int(), 200) << by_number.body();
  EXPECT_EQ(json::parse(by_number.body())["resident_code"], person.code);
  auto found = post("/v1/fuhyo/search?purpose=pension",
                    json{{"name", person.name}, {"date_of_birth", person.date_of_birth}}.dump(), *agency_);
  ASSERT_EQ(found.result_int(), 200) << found.body();
  const json results = json::parse(found.body())["results"];
  int hits = 0;
  for (const auto& f : results) hits += f["resident_code"] == person.code;
  EXPECT_EQ(hits, 1) << found.body();

  const json provisions = disclosure(person)["provisions"];
  int fuhyo = 0, identity_reads = 0;
  for (const auto& p : provisions) {
    if (p["agency_name"] != "Pension") continue;
    fuhyo += p["information"] == "fuhyo_identity";
    identity_reads += p["information"] == "identity";
  }
  EXPECT_EQ(fuhyo, 3);           // by code, by My Number, by search
  EXPECT_EQ(identity_reads, 1);  // the basic-four read that gave the My Number
}

// Rule: a municipality reads its resident's household and files a 世帯主変更 (the wife heads the
// household, the husband becomes 夫); it registers a seal, changes it and abolishes it, and the
// history keeps every registration with only the newest abolished by request.
TEST_F(MunicipalRoutesE2E, AMunicipalityChangesAHouseholdsHeadAndKeepsASealsLifecycle) {
  json couple;
  std::string municipality_code;
  for (const auto& p : living()) {
    auto r = get("/v1/municipalities/" + p.municipality + "/households/" + p.code, municipality(p.municipality));
    ASSERT_EQ(r.result_int(), 200) << r.body();
    json h = json::parse(r.body());
    if (h["members"].size() == 2 && h["members"][1]["relationship"] == "妻") {
      couple = h;
      municipality_code = p.municipality;
      break;
    }
  }
  ASSERT_FALSE(couple.is_null()) << "no household of a couple alone";
  const std::string husband = couple["head"], wife = couple["members"][1]["resident_code"];
  const std::string& token = municipality(municipality_code);
  const json notice = {{"event_id", "e2e-head-1"}, {"type", "change_head"}, {"date", Date::today().to_iso()},
                       {"head", husband}, {"new_head", wife}, {"relationships", {{husband, "夫"}}}};
  auto changed = post("/v1/municipalities/" + municipality_code + "/households/events", notice.dump(), token);
  ASSERT_EQ(changed.result_int(), 200) << changed.body();
  const json after = json::parse(changed.body())["households"][0];
  EXPECT_EQ(after["head"], wife);
  EXPECT_EQ(after["members"][1]["resident_code"], husband);
  EXPECT_EQ(after["members"][1]["relationship"], "夫");

  // The wife's seals: her active one (generation registers ~70 % of adults) abolished first.
  const std::string seals = "/v1/municipalities/" + municipality_code + "/seals";
  auto history = get(seals + "/" + wife, token);
  ASSERT_EQ(history.result_int(), 200) << history.body();
  const json before = json::parse(history.body())["registrations"];
  for (const auto& s : before)
    if (s["status"] == "active") {
      auto a = post(seals + "/abolish", json{{"request_id", "e2e-abolish-0"}, {"resident_code", wife},
                                             {"reason", "request"}, {"registration_number", s["registration_number"]}}
                                            .dump(),
                    token);
      ASSERT_EQ(a.result_int(), 201) << a.body();
    }
  auto png = municipal::generated_seal_impression("田中");
  ASSERT_TRUE(png.ok());
  const json seal = {{"request_id", "e2e-seal-1"}, {"resident_code", wife}, {"impression_png", pki::base64_encode(*png)}};
  auto registered = post(seals, seal.dump(), token);
  ASSERT_EQ(registered.result_int(), 201) << registered.body();
  const int64_t first = json::parse(registered.body())["registration_number"];
  EXPECT_EQ(post(seals, seal.dump(), token).result_int(), 200);  // a retry answers the same
  json change = seal;
  change["request_id"] = "e2e-seal-2";
  auto replaced = post(seals + "/change", change.dump(), token);
  ASSERT_EQ(replaced.result_int(), 201) << replaced.body();
  EXPECT_EQ(json::parse(replaced.body())["replaces"], first);
  auto abolished = post(seals + "/abolish",
                        json{{"request_id", "e2e-abolish-1"}, {"resident_code", wife}, {"reason", "request"}}.dump(),
                        token);
  ASSERT_EQ(abolished.result_int(), 201) << abolished.body();
  EXPECT_EQ(json::parse(abolished.body())["status"], "abolished");
  // A second abolition finds no active seal.
  EXPECT_EQ(post(seals + "/abolish",
                 json{{"request_id", "e2e-abolish-2"}, {"resident_code", wife}, {"reason", "request"}}.dump(), token)
                .result_int(),
            409);
  history = get(seals + "/" + wife, token);
  const json after_all = json::parse(history.body())["registrations"];
  int active = 0, ours = 0;
  for (const auto& s : after_all) {
    active += s["status"] == "active";
    ours += s["registration_number"].get<int64_t>() >= first;
  }
  EXPECT_EQ(active, 0);
  EXPECT_EQ(ours, 2);
}

// The surname of a name written "氏　名" (full-width space).
std::string surname_in(const std::string& name) { return name.substr(0, name.find("\u3000")); }

// Rule: the 本籍 municipality files a 出生届 into one of its generated registers over HTTP (201);
// the register shows the child with the 続柄 of their birth order among the couple's sons; a retry
// answers 200 with the same member; another municipality gets 404 for the register; a 死亡届
// removes the child (除籍).
TEST_F(MunicipalRoutesE2E, TheHonsekiMunicipalityFilesABirthAndADeathIntoAFamilyRegister) {
  // A couple's open register (husband at its head, 妻 a current member), found through the 本籍
  // municipality that the 附票 of some resident names.
  std::string holder;
  json reg;
  std::set<std::string> tried;
  for (const auto& p : living()) {
    if (!reg.is_null() || tried.size() >= 8) break;
    auto f = get("/v1/fuhyo/" + p.code + "?purpose=pension", *agency_);
    if (f.result_int() != 200) continue;
    const std::string m = json::parse(f.body())["municipality_code"];
    if (!tried.insert(m).second) continue;
    for (int id = 1, missing = 0; id <= 2000 && missing < 300 && reg.is_null(); ++id) {
      auto r = get("/v1/municipalities/" + m + "/family-registers/" + std::to_string(id), municipality(m));
      if (r.result_int() == 404) {
        ++missing;
        continue;
      }
      ASSERT_EQ(r.result_int(), 200) << r.body();
      missing = 0;
      json candidate = json::parse(r.body());
      const json& members = candidate["members"];
      if (candidate["closed"] == true || members.empty() || members[0]["sex"] != "male" || members[0]["removed"] == true)
        continue;
      for (const auto& w : members)
        if (w["relationship"] == "妻" && w["removed"] == false) {
          reg = candidate;
          holder = m;
        }
    }
  }
  ASSERT_FALSE(reg.is_null()) << "no couple's register found in " << tried.size() << " 本籍 municipalities";
  const int64_t id = reg["register_id"];
  const json husband = reg["members"][0];
  json wife;
  for (const auto& w : reg["members"])
    if (w["relationship"] == "妻" && w["removed"] == false) wife = w;
  int sons = 0;
  for (const auto& m : reg["members"]) {
    const std::string rel = m["relationship"];
    sons += m["father"] == husband["name"] && m["mother"] == wife["name"] && m["sex"] == "male" &&
            rel.size() >= 3 && rel.ends_with("男");
  }
  const char* const ordinals[] = {"長", "二", "三", "四", "五", "六", "七", "八", "九", "十"};
  ASSERT_LT(sons, 10);
  const std::string expected = std::string(ordinals[sons]) + "男";

  const std::string today = Date::today().to_iso();
  const std::string events = "/v1/municipalities/" + holder + "/family-registers/events";
  const json birth = {{"event_id", "e2e-koseki-birth"}, {"type", "birth"}, {"register_id", id},
                      {"name", surname_in(husband["name"]) + "\u3000一郎"},
                      {"name_kana", surname_in(husband["name_kana"]) + "\u3000イチロウ"},
                      {"date_of_birth", today}, {"sex", "male"}, {"place", "東京都千代田区"},
                      {"father", husband["name"]}, {"mother", wife["name"]}, {"notified_on", today},
                      {"notifier", "父"}};
  auto filed = post(events, birth.dump(), municipality(holder));
  ASSERT_EQ(filed.result_int(), 201) << filed.body();
  const json outcome = json::parse(filed.body());
  EXPECT_EQ(outcome["register_id"], id);
  EXPECT_EQ(outcome["replay"], false);
  const int member = outcome["member"];
  EXPECT_EQ(member, static_cast<int>(reg["members"].size()) + 1);

  const std::string path = "/v1/municipalities/" + holder + "/family-registers/" + std::to_string(id);
  auto after = get(path, municipality(holder));
  ASSERT_EQ(after.result_int(), 200) << after.body();
  const json child = json::parse(after.body())["members"].back();
  EXPECT_EQ(child["member"], member);
  EXPECT_EQ(child["name"], birth["name"]);
  EXPECT_EQ(child["relationship"], expected) << "sons before: " << sons;
  EXPECT_EQ(child["removed"], false);
  ASSERT_EQ(child["entries"].size(), 1u);
  EXPECT_EQ(child["entries"][0]["kind"], "birth");
  EXPECT_EQ(child["entries"][0]["notifier"], "父");

  auto retry = post(events, birth.dump(), municipality(holder));
  ASSERT_EQ(retry.result_int(), 200) << retry.body();
  EXPECT_EQ(json::parse(retry.body())["member"], member);
  EXPECT_EQ(json::parse(retry.body())["replay"], true);

  // Another municipality, on its own path, does not see the register.
  std::string other;
  for (const auto& p : *people_)
    if (p.municipality != holder) {
      other = p.municipality;
      break;
    }
  ASSERT_FALSE(other.empty());
  auto foreign = get("/v1/municipalities/" + other + "/family-registers/" + std::to_string(id), municipality(other));
  EXPECT_EQ(foreign.result_int(), 404) << foreign.body();

  const json death = {{"event_id", "e2e-koseki-death"}, {"type", "death"},
                      {"member", {{"register_id", id}, {"member", member}}}, {"date", today},
                      {"place", "東京都千代田区"}, {"notified_on", today}, {"notifier", "父"}};
  auto died = post(events, death.dump(), municipality(holder));
  ASSERT_EQ(died.result_int(), 201) << died.body();
  after = get(path, municipality(holder));
  ASSERT_EQ(after.result_int(), 200) << after.body();
  const json removed = json::parse(after.body())["members"].back();
  EXPECT_EQ(removed["member"], member);
  EXPECT_EQ(removed["removed"], true);
  EXPECT_EQ(removed["entries"].back()["kind"], "death");
}

}  // namespace
}  // namespace jlis::e2e
