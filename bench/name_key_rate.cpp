// name_key over every name of the reference list (names.csv), repeated to 200,000 calls: µs per name.
// Formerly a wall-clock assertion in tests/common/text_test.cpp (< 5 µs); speed is measured here.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/text.h"

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : std::string(JLIS_REFERENCE_DIR) + "/names.csv";
  std::ifstream in(path);
  std::vector<std::string> names;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    if (f.size() >= 4) names.push_back(f[1] + "　" + f[3]);
  }
  if (names.empty()) {
    std::fprintf(stderr, "no names in %s\n", path.c_str());
    return 1;
  }
  size_t sink = 0;
  long calls = 0;
  const auto start = std::chrono::steady_clock::now();
  while (calls < 200000) {
    for (const auto& n : names) sink += jlis::name_key(n).size();
    calls += static_cast<long>(names.size());
  }
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / calls;
  std::printf("name_key: %.3f µs per name (%ld calls, %zu bytes)\n", us, calls, sink);
  return 0;
}
