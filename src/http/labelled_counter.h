// A counter with labels for /metrics (Prometheus text format): one count per set of label values,
// the values escaped as the format asks (\\, \", \n). For label sets that stay small and that callers
// do not choose freely: agencies × purposes, document types. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace jlis::http {

class LabelledCounter {
 public:
  // `name` (…_total), its HELP text, and the label names, in the order add() gives their values.
  LabelledCounter(std::string name, std::string help, std::vector<std::string> labels);

  void add(const std::vector<std::string>& values, uint64_t n = 1);
  // "# HELP", "# TYPE … counter" and a line per label set seen so far, in sorted order.
  std::string text() const;

 private:
  const std::string name_, help_;
  const std::vector<std::string> labels_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, uint64_t> counts_;
};

}  // namespace jlis::http
