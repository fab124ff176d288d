// Runs the real `jlis` binary: one-shot commands, and `jlis serve` as a child process on loopback.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../store/test_store.h"

namespace jlis::e2e {

struct Output {
  int exit_code;
  std::string out, err;
  // The last non-empty line of stdout (where token commands print the token).
  std::string last_line() const {
    std::istringstream in(out);
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    return last;
  }
};

inline std::string quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a shell command; answers its exit status and what it printed (stdout and stderr together).
inline Output shell(const std::string& command) {
  Output o{-1, "", ""};
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return o;
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, got);
  int status = ::pclose(p);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

// Writes `data` to `path` as it is.
inline void write_file(const std::filesystem::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

// pdftotext's reading of the PDF at `path`, with runs of white space (the ideographic space of names
// included, which it prints as such or as a space) folded to one ASCII space.
inline std::string pdf_text(const std::string& path) {
  auto out = shell("pdftotext -layout " + quote(path) + " -");
  EXPECT_EQ(out.exit_code, 0) << out.out;
  std::string folded;
  for (size_t i = 0; i < out.out.size(); ++i) {
    const bool ideographic = out.out.compare(i, 3, "　") == 0;
    if (ideographic || out.out[i] == ' ' || out.out[i] == '\n') {
      if (!folded.empty() && folded.back() != ' ') folded += ' ';
      if (ideographic) i += 2;
    } else {
      folded += out.out[i];
    }
  }
  return folded;
}
// `s` with its ideographic spaces as ASCII spaces, to find a name in pdf_text().
inline std::string ascii_spaced(std::string s) {
  for (size_t at; (at = s.find("　")) != std::string::npos;) s.replace(at, 3, " ");
  return s;
}

// A database of its own on the PostgreSQL test server (empty, or a copy of `copy_of`), dropped
// when the test process ends.
inline const store::testing::TestStore& kept_test_store(const std::string& copy_of = "template0") {
  static std::vector<std::unique_ptr<store::testing::TestStore>> kept;
  kept.push_back(std::make_unique<store::testing::TestStore>(copy_of));
  return *kept.back();
}

// On PostgreSQL (JLIS_TEST_STORE: the suites' _pg registrations) the data directories the tests
// make keep their store on the test server: `jlis init` of a new directory without --store is
// given a database of its own. Other commands, and init on SQLite, are run as they are.
inline std::vector<std::string> on_test_store(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "init" || !store::testing::testing_on_postgresql() ||
      std::find(args.begin(), args.end(), "--store") != args.end())
    return args;
  auto data = std::find(args.begin(), args.end(), "--data");
  if (data == args.end() || data + 1 == args.end() ||
      std::filesystem::exists(std::filesystem::path(data[1]) / "openjlis-data"))
    return args;
  std::vector<std::string> out = args;
  out.insert(out.end(), {"--store", kept_test_store().url()});
  return out;
}

// A fresh path under the temporary directory for this process and `name` (left over from an earlier
// run of the same pid: removed); the caller creates it, or `jlis init` does.
inline std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("jlis-e2e-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

// Runs `jlis args...` to completion (on the test store: on_test_store).
inline Output jlis(const std::vector<std::string>& plain_args) {
  const std::vector<std::string> args = on_test_store(plain_args);
  static int n = 0;
  const std::string err_file = std::filesystem::temp_directory_path() /
                               ("jlis-e2e-err-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::string cmd = quote(JLIS_BINARY);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " 2>" + quote(err_file);
  Output o{-1, "", ""};
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return o;
  std::array<char, 4096> buf;
  size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), p)) > 0) o.out.append(buf.data(), got);
  int status = ::pclose(p);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_file);
  o.err.assign(std::istreambuf_iterator<char>(err), {});
  std::filesystem::remove(err_file);
  return o;
}

// A `jlis` command that serves on 127.0.0.1 with a port the kernel picks (`--listen 127.0.0.1:0`
// among `args`) and names its address on its first line ("… http://127.0.0.1:PORT…"); stopped with
// SIGTERM on destruction.
class Serving {
 public:
  explicit Serving(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<const char*> argv = {JLIS_BINARY};
      for (const auto& a : args) argv.push_back(a.c_str());
      argv.push_back(nullptr);
      ::execv(JLIS_BINARY, const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string line;
    char c;
    while (::read(fds[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(fds[0]);
    const std::string address = "http://127.0.0.1:";
    if (const size_t at = line.find(address); at != std::string::npos)
      port_ = static_cast<uint16_t>(std::atoi(line.c_str() + at + address.size()));
  }
  ~Serving() { stop(); }
  Serving(const Serving&) = delete;
  Serving& operator=(const Serving&) = delete;
  // Sends SIGTERM and answers the exit status (0 for a clean shutdown).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  // Kills the process with `signal` (SIGKILL: no shutdown code runs, as in a crash) and reaps it.
  void kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// `jlis serve` on the data directory; `extra` are more `jlis serve` options ("--ocsp-unknown-limit", "3").
class Server : public Serving {
 public:
  explicit Server(const std::string& data_dir, const std::vector<std::string>& extra = {})
      : Serving(with(data_dir, extra)) {}

 private:
  static std::vector<std::string> with(const std::string& data_dir, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"serve", "--data", data_dir, "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

}  // namespace jlis::e2e
