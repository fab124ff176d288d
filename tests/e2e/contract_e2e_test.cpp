// The API contract through the real `jlis serve`: the server's route table (for the contract
// validator, tools/contract/validate.mjs), the document it serves at /openapi.yaml, and the
// HTTP-level error answers every route may give (each with its own code).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../http/client.h"
#include "jlis_process.h"
#include "template_dir.h"

namespace jlis::e2e {
namespace {

namespace fs = std::filesystem;
using http::testing::Client;
namespace bhttp = boost::beast::http;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class ContractE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("jlis-e2e-contract-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    // Prepared once per build and copied (template_dir.h).
    const auto out = prepared_dir(dir_, {{"init", "--data", "{dir}"},
                                         {"ca", "init", "--data", "{dir}"},
                                         {"lgpki", "init", "--data", "{dir}"}});
    ASSERT_EQ(out.size(), 3u) << out.back().err;
    ASSERT_EQ(out[0].exit_code, 0);
    ASSERT_EQ(out[1].exit_code, 0) << out[1].err;
    ASSERT_EQ(out[2].exit_code, 0) << out[2].err;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string dir_;
};
std::string ContractE2e::dir_;

// Rule: every served route is listed by --print-routes (the validator compares it with the
// document's paths; both directions).
TEST_F(ContractE2e, RouteTableListsEveryComponentsRoutes) {
  auto out = jlis({"serve", "--data", dir_, "--print-routes"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  std::istringstream lines(out.out);
  std::string line, table;
  int n = 0;
  for (; std::getline(lines, line); ++n) {
    const size_t sp = line.find(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    table += std::string(n ? "," : "") + R"({"method":")" + line.substr(0, sp) + R"(","pattern":")" +
             line.substr(sp + 1) + R"("})";
  }
  for (const char* route : {"GET /healthz\n", "GET /metrics\n", "GET /openapi.yaml\n",
                            "POST /v1/municipalities/{code}/events\n", "POST /v1/cards/applications\n",
                            "GET /crl/{file}\n", "GET /ocsp/{request...}\n", "GET /lgpki/crl/{file}\n",
                            "GET /lgpki/ca/{file}\n", "POST /lgpki/ocsp\n", "GET /lgpki/ocsp/{request...}\n"}) {
    EXPECT_NE(out.out.find(route), std::string::npos) << route << " missing from\n" << out.out;
  }
  if (const char* log = std::getenv("JLIS_CONTRACT_LOG"); log != nullptr && *log != 0) {
    std::ofstream(log, std::ios::app) << R"({"route_table":[)" << table << "]}\n";
  }
}

// Rule: GET /openapi.yaml answers the document the binary was built with, whose info.version is
// the binary's version.
TEST_F(ContractE2e, ServesItsOwnDocumentWithItsVersion) {
  auto version = jlis({"--version"});
  ASSERT_EQ(version.exit_code, 0) << version.err;
  ASSERT_FALSE(version.last_line().empty());
  Server server(dir_);
  ASSERT_NE(server.port(), 0);
  auto r = Client(server.port()).get("/openapi.yaml");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[bhttp::field::content_type], "application/yaml");
  EXPECT_EQ(r.body(), read_file(JLIS_OPENAPI_DOCUMENT));
  EXPECT_NE(r.body().find("\ninfo:\n"), std::string::npos);
  EXPECT_NE(r.body().find("\n  version: " + version.last_line() + "\n"), std::string::npos)
      << "info.version is not " << version.last_line();
}

// Rule: the HTTP-level failures answer the JSON error with their own codes (405, 413, 431), and an
// unknown path 404 not_found. The exchanges also go to the contract log.
TEST_F(ContractE2e, HttpLevelErrorsHaveTheirOwnCodes) {
  Server server(dir_);
  ASSERT_NE(server.port(), 0);
  auto r = Client(server.port()).request(bhttp::verb::delete_, "/healthz");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(r[bhttp::field::allow], "GET");
  EXPECT_NE(r.body().find(R"("code":"method_not_allowed")"), std::string::npos) << r.body();

  r = Client(server.port()).request(bhttp::verb::post, "/v1/residents/search", std::string((1 << 20) + 1024, 'x'));
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_NE(r.body().find(R"("code":"payload_too_large")"), std::string::npos) << r.body();

  Client big(server.port());
  big.send_raw("GET /v1/pki/ca HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 * 1024, 'h') + "\r\n\r\n");
  r = big.read();
  EXPECT_EQ(r.result_int(), 431);
  EXPECT_NE(r.body().find(R"("code":"headers_too_large")"), std::string::npos) << r.body();

  r = Client(server.port()).get("/no/such/route");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_NE(r.body().find(R"("code":"not_found")"), std::string::npos) << r.body();
}

}  // namespace
}  // namespace jlis::e2e
