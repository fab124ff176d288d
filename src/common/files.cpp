#include "common/files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace jlis {

Result<std::string> read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return not_found("cannot read " + path.string());
  // Sized once from the file's length (one byte more, so that the read of the end needs no growth);
  // a file without one (a pipe) or one that grows meanwhile is read on in doubling steps.
  struct stat st {};
  std::string data(::fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) + 1 : 4096, '\0');
  size_t used = 0;
  for (;;) {
    if (used == data.size()) data.resize(2 * data.size());
    const ssize_t got = ::read(fd, data.data() + used, data.size() - used);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      ::close(fd);
      if (got < 0) return not_found("cannot read " + path.string());
      data.resize(used);
      return data;
    }
    used += static_cast<size_t>(got);
  }
}

Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a pipe: refused, not waited for
  if (fd < 0) return not_found("cannot read " + path.string());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return not_found("cannot read " + path.string());
  }
  if (st.st_size == 0) {
    ::close(fd);
    return MappedFile();
  }
  const auto size = static_cast<size_t>(st.st_size);
  void* at = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);  // the mapping keeps the file
  if (at == MAP_FAILED) return not_found("cannot map " + path.string());
  return MappedFile(std::string_view(static_cast<const char*>(at), size));
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  std::swap(text_, other.text_);  // other unmaps what this held
  return *this;
}

MappedFile::~MappedFile() {
  if (!text_.empty()) ::munmap(const_cast<char*>(text_.data()), text_.size());
}

Status write_file_atomically(const std::filesystem::path& path, const std::string& data, mode_t mode) {
  const std::string tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return internal_error("cannot write " + path.string());
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return internal_error("cannot write " + path.string());
  }
  return Status::ok();
}

}  // namespace jlis
