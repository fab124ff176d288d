// Ids and digests (common/digest.h).
#include "common/digest.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>

namespace jlis {
namespace {

// Rule: a time-ordered id is 32 lower-case hex digits, its first 12 the milliseconds since the epoch
// at the call (UUIDv7's layout), its other 20 random: ids made one after another never sort
// backwards, and a thousand made in the same few milliseconds are all different.
TEST(TimeOrderedHexId, MillisecondsThenRandomSortedByTime) {
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = now_ms();
  const std::string id = time_ordered_hex_id().value();
  const int64_t after = now_ms();
  ASSERT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  const int64_t stamped = std::stoll(id.substr(0, 12), nullptr, 16);
  EXPECT_GE(stamped, before);
  EXPECT_LE(stamped, after);

  std::set<std::string> ids;
  std::string last;
  for (int i = 0; i < 1000; ++i) {
    std::string next = time_ordered_hex_id().value();
    EXPECT_GE(next.substr(0, 12), last.substr(0, std::min<size_t>(12, last.size())));
    ids.insert(next);
    last = std::move(next);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

// Rule: the ids' random digits are drawn ahead, a buffer per thread; a process forked after that
// draws its own, so its next id's random digits are not its parent's next id's.
TEST(TimeOrderedHexId, AForkedChildDoesNotRepeatItsParentsRandomDigits) {
  ASSERT_TRUE(time_ordered_hex_id().ok());  // this thread's buffer is filled
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = time_ordered_hex_id().value();
    _exit(write(out[1], id.data(), id.size()) == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  close(out[1]);
  const std::string mine = time_ordered_hex_id().value();
  char theirs[32];
  ASSERT_EQ(read(out[0], theirs, sizeof theirs), 32);
  close(out[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_NE(std::string(theirs + 12, 20), mine.substr(12)) << "the child used the parent's next random digits";
}

}  // namespace
}  // namespace jlis
