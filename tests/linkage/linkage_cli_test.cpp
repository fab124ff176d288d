// `jlis linkage` through the real binary (linkage/commands.h): a body is added with its token (the
// last line), listed, removed with its tokens revoked; bad input is a message and exit 1 with
// nothing written; `jlis token create` makes no linkage-body token; `jlis linkage layout` names the
// version in force on a day. On SQLite and PostgreSQL (the directory's store on the test server).
#include "common/date.h"
#include <gtest/gtest.h>

#include "../e2e/jlis_process.h"

namespace jlis::linkage {
namespace {

using e2e::jlis;
using e2e::Output;

class LinkageCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = e2e::temp_dir("linkage-cli");
    Output o = jlis({"init", "--data", dir_});
    ASSERT_EQ(o.exit_code, 0) << o.err;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Output run(std::vector<std::string> args) {
    args.insert(args.end(), {"--data", dir_});
    args.insert(args.begin(), "linkage");
    return jlis(args);
  }
  std::string list() { return run({"body", "list"}).out; }
  std::string tokens() { return jlis({"token", "list", "--data", dir_}).out; }

  std::string dir_;
};

TEST_F(LinkageCli, ABodyIsAddedListedAndRemovedWithItsToken) {
  Output added = run({"body", "add", "--kind", "pension-service", "--name", "日本年金機構", "--code", "1011105003233",
                      "--by", "suzuki"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(added.out.substr(0, added.out.find('\n')), "body pension-service-1011105003233 (日本年金機構) registered");
  EXPECT_EQ(added.last_line().rfind("jlis_", 0), 0u) << added.out;
  ASSERT_EQ(run({"body", "add", "--kind", "municipality", "--name", "千代田区", "--code", "131016"}).exit_code, 0);
  Output tokyo = run({"body", "add", "--kind", "prefecture", "--name", "東京都", "--code", "130001"});
  ASSERT_EQ(tokyo.exit_code, 0) << tokyo.err;
  Output sapporo = run({"body", "add", "--kind", "municipality", "--name", "札幌市", "--code", "011002"});
  ASSERT_EQ(sapporo.exit_code, 0) << sapporo.err;  // a designated city is a body; its wards are not

  const std::string listed = list();
  EXPECT_EQ(listed.substr(0, listed.find('\n')), "body_id,kind,name,code,registered_at,active,endpoint");
  EXPECT_NE(listed.find("\npension-service-1011105003233,pension-service,日本年金機構,1011105003233,"), std::string::npos)
      << listed;
  EXPECT_NE(listed.find("\nmunicipality-131016,municipality,千代田区,131016,"), std::string::npos) << listed;
  EXPECT_NE(listed.find(",yes,\n"), std::string::npos);
  // The city's own system, for the queries it answers live: an http:// URL, listed; anything else refused.
  Output endpoint = run({"body", "endpoint", "--body", "municipality-131016", "--url", "http://10.0.0.5:8443/linkage"});
  ASSERT_EQ(endpoint.exit_code, 0) << endpoint.err;
  EXPECT_NE(list().find("\nmunicipality-131016,municipality,千代田区,131016,"), std::string::npos);
  EXPECT_NE(list().find(",yes,http://10.0.0.5:8443/linkage\n"), std::string::npos) << list();
  Output bad = run({"body", "endpoint", "--body", "municipality-131016", "--url", "ftp://10.0.0.5/linkage"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("http://"), std::string::npos) << bad.err;
  EXPECT_NE(list().find(",yes,http://10.0.0.5:8443/linkage\n"), std::string::npos) << "a refused URL changes nothing";
  EXPECT_NE(tokens().find(",linkage-body,pension-service-1011105003233,日本年金機構,"), std::string::npos) << tokens();

  Output removed = run({"body", "remove", "--body", "pension-service-1011105003233", "--by", "suzuki"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_NE(list().find("pension-service-1011105003233,pension-service,日本年金機構,1011105003233,"), std::string::npos);
  EXPECT_NE(list().find(",no,\n"), std::string::npos) << list();
  // The revoked token has its revocation time in the last column.
  const std::string t = tokens();
  const size_t row = t.find(",linkage-body,pension-service-1011105003233,");
  ASSERT_NE(row, std::string::npos);
  const std::string line = t.substr(row, t.find('\n', row) - row);
  EXPECT_EQ(line.back(), 'Z') << line;

  Output again = run({"body", "remove", "--body", "pension-service-1011105003233"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("removed already"), std::string::npos) << again.err;
}

TEST_F(LinkageCli, BadInputIsAMessageAndExitOneWithNothingWritten) {
  const std::string before_bodies = list(), before_tokens = tokens();
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"body", "add", "--kind", "school", "--name", "x", "--code", "131016"}, "the body kind must be one of"},
      {{"body", "add", "--kind", "municipality", "--name", "千代田区", "--code", "131017"}, "check digit"},
      {{"body", "add", "--kind", "prefecture", "--name", "千代田区", "--code", "131016"}, "prefecture code"},
      {{"body", "add", "--kind", "ministry", "--name", "厚生労働省", "--code", "6000012070002"}, "corporate number"},
      // Right check digits, but no such local government, or a designated city's ward (中央区, 札幌市).
      {{"body", "add", "--kind", "municipality", "--name", "架空市", "--code", "479993"},
       "--code 479993 is not a municipality in the reference data"},
      {{"body", "add", "--kind", "municipality", "--name", "札幌市中央区", "--code", "011011"},
       "--code 011011 is not a municipality in the reference data"},
      {{"body", "add", "--kind", "municipality", "--name", "", "--code", "131016"}, "name"},
      {{"body", "add", "--kind", "municipality", "--name", "千代田区", "--code", "131016", "--expires", "yesterday"},
       "expir"},
      {{"body", "remove", "--body", "municipality-999999"}, "no body municipality-999999"},
      {{"records", "purge", "--before", "2019-02-30"}, "--before must be a date"},
      // The records' seven years: a day one year back is refused (queries.h).
      {{"records", "purge", "--before", Date::today().add_years(-1).to_iso()}, "kept 7 years"},
  };
  for (const auto& c : cases) {
    Output o = run(c.args);
    EXPECT_EQ(o.exit_code, 1) << c.args[3] << " " << o.out;
    EXPECT_NE(o.err.find(c.says), std::string::npos) << o.err;
    EXPECT_EQ(o.out, "");
  }
  EXPECT_EQ(list(), before_bodies);
  EXPECT_EQ(tokens(), before_tokens);
  // A second registration of one body is refused, with no second token.
  ASSERT_EQ(run({"body", "add", "--kind", "municipality", "--name", "千代田区", "--code", "131016"}).exit_code, 0);
  const std::string one = tokens();
  Output twice = run({"body", "add", "--kind", "municipality", "--name", "千代田区", "--code", "131016"});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("registered already"), std::string::npos) << twice.err;
  EXPECT_EQ(tokens(), one);
  // No linkage-body token without a body.
  Output plain = jlis({"token", "create", "--data", dir_, "--role", "linkage-body", "--name", "municipality-131016"});
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_NE(plain.err.find("jlis linkage body add"), std::string::npos) << plain.err;
  EXPECT_EQ(tokens(), one);
}

// Rule: `records purge` of the day seven years back is allowed and says how many it deleted (none
// on a new platform).
TEST_F(LinkageCli, RecordsPurgeSaysHowManyItDeleted) {
  const std::string day = Date::today().add_years(-7).to_iso();
  Output o = run({"records", "purge", "--before", day});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "purged 0 provision records requested before " + day + "\n");
}

TEST(LinkageCliLayout, TheVersionInForceOnADay) {
  Output o = jlis({"linkage", "layout", "--on", "2025-11-01"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "version 2025.11 (interim) in force on 2025-11-01: from 2025-11-01 until 2026-06-30\n");
  o = jlis({"linkage", "layout", "--on", "2026-07-01"});
  EXPECT_EQ(o.out, "version 2026.07 (yearly) in force on 2026-07-01: from 2026-07-01 until a later version\n");
  o = jlis({"linkage", "layout", "--on", "2025-06-30"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("no data standard layout is in force on 2025-06-30"), std::string::npos) << o.err;
  EXPECT_EQ(jlis({"linkage", "layout", "--on", "2025-13-01"}).exit_code, 1);
}

// Rule: a body's signing certificate is registered only when it chains to the directory's LGPKI
// (and once), listed with its fingerprint, and removed; the messages of linkage/signatures.h then
// match their signer by that fingerprint.
TEST_F(LinkageCli, ABodysSigningCertificateIsRegisteredListedAndRemoved) {
  ::setenv("JLIS_CA_PASSPHRASE", "linkage cli passphrase, not a real one", 1);
  ASSERT_EQ(jlis({"lgpki", "init", "--data", dir_}).exit_code, 0);
  ASSERT_EQ(run({"body", "add", "--kind", "pension-service", "--name", "日本年金機構", "--code", "1011105003233"}).exit_code, 0);
  const std::string window = jlis({"municipality", "token", "--data", dir_, "--code", "131016"}).last_line();
  const std::string registration =
      jlis({"token", "create", "--data", dir_, "--role", "lgpki-registration", "--name", "131016"}).last_line();
  // The LGPKI application of a certificate, as its workflow takes it (pki/lgpki_workflow.h).
  ::setenv("JLIS_TOKEN", window.c_str(), 1);
  const Output applied = jlis({"lgpki", "apply", "--data", dir_, "--municipality", "131016", "--profile", "organisation",
                               "--organisation", "千代田区", "--common-name", "日本年金機構 情報連携"});
  ::setenv("JLIS_TOKEN", registration.c_str(), 1);
  const Output reviewed = jlis({"lgpki", "review", "--data", dir_, "--application", applied.last_line()});
  ::unsetenv("JLIS_TOKEN");
  ASSERT_EQ(applied.exit_code + reviewed.exit_code, 0) << applied.err << reviewed.err;
  ASSERT_EQ(jlis({"lgpki", "approve", "--data", dir_, "--application", applied.last_line(), "--by", "t"}).exit_code, 0);
  const Output issued = jlis({"lgpki", "issue", "--data", dir_, "--application", applied.last_line(), "--by", "t"});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  const std::string pem_file = dir_ + "/body.pem";
  e2e::write_file(pem_file, issued.out);

  Output added = run({"body", "certificate", "add", "--body", "pension-service-1011105003233", "--certificate", pem_file});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string fingerprint = added.last_line();
  ASSERT_EQ(fingerprint.size(), 64u) << added.out;
  Output listed = run({"body", "certificate", "list", "--body", "pension-service-1011105003233"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out.substr(0, listed.out.find('\n')), "fingerprint,serial,subject,not_after,registered_at,removed_at");
  EXPECT_NE(listed.out.find("\n" + fingerprint + ","), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.back() == '\n' && listed.out[listed.out.size() - 2] == ',', true) << "in use: no removed_at";

  Output again = run({"body", "certificate", "add", "--body", "pension-service-1011105003233", "--certificate", pem_file});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("registered already"), std::string::npos) << again.err;
  // A certificate of no LGPKI: the CA's own first certificate re-signed by nobody we trust.
  e2e::write_file(dir_ + "/self.pem", e2e::shell("openssl req -x509 -newkey rsa:2048 -nodes -keyout /dev/null -subj "
                                                  "/CN=self -days 1 2>/dev/null").out);
  Output foreign = run({"body", "certificate", "add", "--body", "pension-service-1011105003233", "--certificate",
                        dir_ + "/self.pem"});
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.err.find("chain does not verify"), std::string::npos) << foreign.err;

  Output removed = run({"body", "certificate", "remove", "--fingerprint", fingerprint});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  listed = run({"body", "certificate", "list", "--body", "pension-service-1011105003233"});
  EXPECT_EQ(listed.out.back() == '\n' && listed.out[listed.out.size() - 2] == 'Z', true) << listed.out;
  EXPECT_EQ(run({"body", "certificate", "remove", "--fingerprint", fingerprint}).exit_code, 1);
}

}  // namespace
}  // namespace jlis::linkage
