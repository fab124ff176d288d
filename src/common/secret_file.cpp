#include "common/secret_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace jlis {

Status create_secret_file(const std::string& path, size_t size, const std::string& what) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(dir, ec);
  if (ec) return internal_error("cannot create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return internal_error("cannot restrict " + dir.string());
  if (std::filesystem::exists(path, ec)) return Status::ok();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::ok();
    return internal_error("cannot create " + what + " file " + path + ": " + std::strerror(errno));
  }
  std::string key(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(size)) != 1) {
    ::close(fd);
    ::unlink(path.c_str());
    return internal_error("no randomness for " + what);
  }
  ssize_t written = ::write(fd, key.data(), key.size());
  OPENSSL_cleanse(key.data(), key.size());
  bool ok = written == static_cast<ssize_t>(size) && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(path.c_str());
    return internal_error("cannot write " + what + " file " + path);
  }
  return Status::ok();
}

Result<std::string> read_secret_file(const std::string& path, size_t size, const std::string& what,
                                     const std::string& missing_hint) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return invalid_argument(what + " " + path + " is missing" + missing_hint);
  std::string buf(size + 1, '\0');
  size_t got = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
    if (got == buf.size()) break;
  }
  ::close(fd);
  if (got != size) {
    OPENSSL_cleanse(buf.data(), buf.size());
    return invalid_argument(what + " " + path + " is not " + std::to_string(size) + " bytes");
  }
  buf.resize(size);
  return buf;
}

}  // namespace jlis
