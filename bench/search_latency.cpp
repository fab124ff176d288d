// Basic-four search latency on a generated population, through the registry's C++ API.
// Usage: search_latency --data DIR [--queries N]
// Queries are made from real residents: name + date of birth, furigana (in hiragana, half-width
// spacing) + date of birth + sex, and name + address prefix (the municipality).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "cli/app.h"

int main(int argc, char** argv) {
  std::string data;
  int queries = 3000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--data")) data = argv[i + 1];
    if (!std::strcmp(argv[i], "--queries")) queries = std::atoi(argv[i + 1]);
  }
  auto app = jlis::cli::App::open(data);
  if (!app.ok()) {
    std::fprintf(stderr, "%s\n", app.status().to_string().c_str());
    return 1;
  }
  auto& registry = (*app)->registry();
  std::vector<jlis::registry::Resident> sample;
  (void)registry.for_each_resident(std::nullopt, [&](const jlis::registry::Resident& r) {
    if (sample.size() < 200000) sample.push_back(r);
  });
  if (sample.empty()) return 1;
  std::mt19937_64 rng(42);
  std::vector<double> all, by_kind[3];
  int64_t found = 0;
  for (int q = 0; q < queries; ++q) {
    const auto& r = sample[rng() % sample.size()];
    jlis::registry::SearchQuery query;
    int kind = q % 3;
    if (kind == 0) {
      query.name = r.person.name;
      query.date_of_birth = r.person.date_of_birth;
    } else if (kind == 1) {
      query.name_kana = r.person.name_kana;  // the key folds kana and width like a typed query
      query.date_of_birth = r.person.date_of_birth;
      query.sex = r.person.sex;
    } else {
      query.name = r.person.name;
      const auto* m = registry.reference().find(r.municipality_code);
      query.address = m->prefecture + m->name;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto result = registry.search(query);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!result.ok()) return 1;
    for (const auto& x : result->residents) found += x.resident_code == r.resident_code;
    all.push_back(ms);
    by_kind[kind].push_back(ms);
  }
  auto pct = [](std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
  };
  const char* names[] = {"name + date_of_birth", "name_kana + date_of_birth + sex", "name + address prefix"};
  for (int k = 0; k < 3; ++k)
    std::printf("search %-32s median %.3f ms  p99 %.3f ms\n", names[k], pct(by_kind[k], 0.5), pct(by_kind[k], 0.99));
  std::printf("search %-32s median %.3f ms  p99 %.3f ms  (%d queries, %lld found their resident)\n", "all",
              pct(all, 0.5), pct(all, 0.99), queries, static_cast<long long>(found));
  return found == queries ? 0 : 1;
}
