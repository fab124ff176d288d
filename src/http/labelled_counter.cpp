#include "http/labelled_counter.h"

namespace jlis::http {
namespace {

std::string escape(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

LabelledCounter::LabelledCounter(std::string name, std::string help, std::vector<std::string> labels)
    : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)) {}

void LabelledCounter::add(const std::vector<std::string>& values, uint64_t n) {
  std::lock_guard lock(mu_);
  counts_[values] += n;
}

std::string LabelledCounter::text() const {
  std::string out = "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + " counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [values, count] : counts_) {
    out += name_ + "{";
    for (size_t i = 0; i < labels_.size() && i < values.size(); ++i)
      out += (i ? "," : "") + labels_[i] + "=\"" + escape(values[i]) + "\"";
    out += "} " + std::to_string(count) + "\n";
  }
  return out;
}

}  // namespace jlis::http
