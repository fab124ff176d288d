// Numbering as the operator and the agencies meet it: the key made by `jlis init`, My Numbers for
// every resident, reissue after a leak, notification letters, and the old number over HTTP.
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <set>

#include "../http/client.h"
#include "jlis_process.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using http::testing::Headers;
using nlohmann::json;

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::istringstream l(line);
    for (std::string f; std::getline(l, f, ',');) fields.push_back(f);
    rows.push_back(fields);
  }
  return rows;
}

TEST(NumberingE2E, InitMakesAPrivateKeyAndCommandsRefuseAMissingOrBadKey) {
  const std::string dir = temp_dir("numbering-key");
  ASSERT_EQ(jlis({"init", "--data", dir}).exit_code, 0);
  const std::string key = dir + "/keys/my-number.key";
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  std::filesystem::resize_file(key, 16);
  auto bad = jlis({"residents", "export", "--data", dir});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("32 bytes"), std::string::npos) << bad.err;
  std::filesystem::remove(key);
  auto missing = jlis({"residents", "export", "--data", dir});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("jlis init"), std::string::npos) << missing.err;
  ASSERT_EQ(jlis({"init", "--data", dir}).exit_code, 0);  // init makes a key again
  EXPECT_EQ(jlis({"residents", "export", "--data", dir}).exit_code, 0);
  std::filesystem::remove_all(dir);
}

TEST(NumberingE2E, EveryResidentIsNumberedAndALeakedNumberIsReissuedAndAnswersChanged) {
  const std::string dir = temp_dir("numbering-flow");
  ASSERT_EQ(jlis({"init", "--data", dir}).exit_code, 0);
  auto gen = jlis({"population", "generate", "--data", dir, "--count", "400", "--seed", "5"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto exported = jlis({"residents", "export", "--data", dir, "--with-my-number", "--purpose", "e2e check"});
  ASSERT_EQ(exported.exit_code, 0);
  auto rows = csv_rows(exported.out);
  ASSERT_GT(rows.size(), 300u);
  std::set<std::string> numbers;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i][1].size(), 12u) << "resident without a My Number";
    EXPECT_TRUE(numbers.insert(rows[i][1]).second);
  }
  const std::string resident = rows[1][0], old_number = rows[1][1], municipality = rows[1][7];

  auto refused = jlis({"mynumber", "reissue", "--data", dir, "--resident", resident, "--reason", "lost"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("leak"), std::string::npos) << refused.err;
  auto reissued = jlis({"mynumber", "reissue", "--data", dir, "--resident", resident, "--reason", "leak"});
  ASSERT_EQ(reissued.exit_code, 0) << reissued.err;
  EXPECT_EQ(reissued.out.find(old_number), std::string::npos);  // no numbers on the console but the letters

  auto letters = jlis({"mynumber", "letters", "--data", dir, "--municipality", municipality});
  ASSERT_EQ(letters.exit_code, 0) << letters.err;
  auto lrows = csv_rows(letters.out);
  ASSERT_GE(lrows.size(), 2u);
  EXPECT_EQ(lrows[0][0], "municipality_code");
  std::string new_number;
  for (const auto& r : lrows)
    if (r.size() > 6 && r[1] == resident && r[6] == "leak") new_number = r[2];
  ASSERT_EQ(new_number.size(), 12u) << letters.out;
  EXPECT_NE(new_number, old_number);
  EXPECT_EQ(numbers.count(new_number), 0u) << "a reissued number equals one already issued";
  for (const auto& r : lrows) EXPECT_NE(r.size() > 2 ? r[2] : "", old_number) << "the leaked number's letter is withdrawn";
  auto marked = jlis({"mynumber", "letters", "--data", dir, "--municipality", municipality, "--mark-printed"});
  ASSERT_EQ(marked.exit_code, 0);
  EXPECT_EQ(csv_rows(jlis({"mynumber", "letters", "--data", dir, "--municipality", municipality}).out).size(), 1u);

  const std::string agency = jlis({"agency", "add", "--data", dir, "--name", "国税庁", "--purposes", "tax"}).last_line();
  Server server(dir);
  ASSERT_NE(server.port(), 0);
  Headers auth = {{"Authorization", "Bearer " + agency}};
  auto old_reply = Client(server.port()).get("/v1/residents?my_number=" + old_number + "&purpose=tax", auth);
  EXPECT_EQ(old_reply.result_int(), 409) << old_reply.body();
  json err = json::parse(old_reply.body());
  EXPECT_EQ(err["error"]["code"], "conflict");
  EXPECT_EQ(err["error"]["message"], "this My Number was changed");
  EXPECT_EQ(old_reply.body().find(new_number), std::string::npos);
  auto new_reply = Client(server.port()).get("/v1/residents?my_number=" + new_number + "&purpose=tax", auth);
  ASSERT_EQ(new_reply.result_int(), 200) << new_reply.body();
  EXPECT_EQ(json::parse(new_reply.body())["resident_code"], resident);
  auto history = Client(server.port()).get("/v1/residents/" + resident + "/history?purpose=tax", auth);
  ASSERT_EQ(history.result_int(), 200);
  EXPECT_EQ(json::parse(history.body())["events"].back()["type"], "my_number_reissue");
  EXPECT_EQ(server.stop(), 0);

  // A new resident code at the resident's request: the old code answers as changed.
  auto changed = jlis({"residents", "new-code", "--data", dir, "--resident", resident});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  const std::string fresh = changed.last_line();
  EXPECT_EQ(fresh.size(), 11u);
  EXPECT_NE(fresh, resident);
  auto again = jlis({"residents", "new-code", "--data", dir, "--resident", resident});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("changed"), std::string::npos) << again.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace jlis::e2e
