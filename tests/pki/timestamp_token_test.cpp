// Time-stamp tokens (pki/timestamp.h) as evidence: a token is checked at its own time (genTime),
// so a stamp made while the authority's certificate was valid still verifies after it expired, and
// one made outside that validity never does. Real OpenSSL, a made-up authority under a made-up root.
#include <gtest/gtest.h>

#include <ctime>

#include "pki/timestamp.h"
#include "test_ca.h"

namespace jlis::pki {
namespace {

constexpr int64_t kYear = 365 * 86400;

TEST(TimestampToken, AStampVerifiesAtItsOwnTimeNotToday) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto root_key = testing::make_key();
  auto root = testing::make_cert(
      {.common_name = "TSA root", .ca = true, .not_before = now - 5 * kYear, .not_after = now + 5 * kYear},
      root_key.get());
  auto tsa_key = testing::make_key();
  // The authority's certificate was valid from three years ago until a year ago.
  auto tsa_cert = testing::make_cert({.common_name = "TSA", .serial_hex = "02", .issuer = root.get(),
                                      .issuer_key = root_key.get(), .eku = "critical,timeStamping",
                                      .not_before = now - 3 * kYear, .not_after = now - kYear},
                                     tsa_key.get());
  std::vector<X509Ptr> chain;
  chain.emplace_back(X509_dup(root.get()));
  auto tsa = TimeStampAuthority::make(std::move(tsa_cert), std::move(tsa_key), std::move(chain), "1.2.3.4");
  ASSERT_TRUE(tsa.ok()) << tsa.status().to_string();
  auto stamp = [&](int64_t at) {
    const std::string query = timestamp_query("entry 42").value();
    return timestamp_token(tsa->respond(query, at).value(), query).value();
  };

  auto then = verify_timestamp_token(stamp(now - 2 * kYear), "entry 42", {root.get()});
  ASSERT_TRUE(then.ok()) << "made while the certificate was valid: " << then.status().to_string();
  EXPECT_EQ(*then, now - 2 * kYear);
  EXPECT_EQ(verify_timestamp_token(stamp(now), "entry 42", {root.get()}).status().code(), Code::invalid_argument)
      << "made after the certificate expired";
  EXPECT_EQ(verify_timestamp_token(stamp(now - 4 * kYear), "entry 42", {root.get()}).status().code(),
            Code::invalid_argument)
      << "made before the certificate was valid";
  EXPECT_EQ(verify_timestamp_token(stamp(now - 2 * kYear), "entry 43", {root.get()}).status().code(),
            Code::invalid_argument)
      << "over other data";
}

}  // namespace
}  // namespace jlis::pki
