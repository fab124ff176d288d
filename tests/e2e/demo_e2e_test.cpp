// `make run` as a newcomer meets it: scripts/demo.sh makes a small population, starts the server and
// prints examples; every example it prints works exactly as printed (tests/e2e/demo_examples.sh runs
// them, each curl with -f). Its example resident holds an active card, so the certificate and card
// examples are about a real card.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "jlis_process.h"

namespace jlis::e2e {
namespace {

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(DemoE2E, EveryExampleMakeRunPrintsWorksAsPrinted) {
  const std::string work = temp_dir("demo");
  const std::string source = std::filesystem::path(JLIS_OPENAPI_DOCUMENT).parent_path().parent_path().string();
  auto out = shell("bash " + quote(source + "/tests/e2e/demo_examples.sh") + " " + quote(JLIS_BINARY) + " " +
                   quote(source) + " " + quote(work));
  EXPECT_EQ(out.exit_code, 0) << out.out;
  EXPECT_EQ(count_of(out.out, "FAILED:"), 0u) << out.out;
  // The curl examples (the API, the CA, the CRL, metrics, the LGPKI root for pdfsig) and the CLI ones.
  EXPECT_EQ(count_of(out.out, "ok: curl "), 10u) << out.out;
  EXPECT_EQ(count_of(out.out, " card virtual --data "), 1u) << "the example resident has no card: " << out.out;
  EXPECT_EQ(count_of(out.out, " documents render --data "), 1u) << out.out;
  // The kiosk: the card played by a terminal, and its document confirmed by the verification page.
  EXPECT_EQ(count_of(out.out, "ok: " + std::string(JLIS_BINARY) + " kiosk simulate "), 1u) << out.out;
  EXPECT_EQ(count_of(out.out, "ok: the kiosk's document "), 1u) << out.out;
  EXPECT_EQ(count_of(out.out, "ok: the kiosk screen answers"), 1u) << out.out;
  EXPECT_EQ(count_of(out.out, "ok: the operator token logs in to the console"), 1u) << out.out;
  EXPECT_EQ(count_of(out.out, "ok: the window's 住民票 carries the mayor's valid, trusted seal"), 1u) << out.out;
  std::filesystem::remove_all(work);
}

}  // namespace
}  // namespace jlis::e2e
