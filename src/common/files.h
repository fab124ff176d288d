// Whole files: read one, or write one so that no reader ever sees half of it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace jlis {

// The bytes of `path`; not_found when it cannot be read.
Result<std::string> read_file(const std::filesystem::path& path);

// A whole file mapped read-only: for large files read once and kept (no copy, and the pages are the
// page cache's). Empty when default-constructed.
class MappedFile {
 public:
  MappedFile() = default;
  // not_found when `path` is not a regular file that can be opened and mapped (a pipe is refused at once).
  static Result<MappedFile> open(const std::filesystem::path& path);
  MappedFile(MappedFile&& other) noexcept : text_(std::exchange(other.text_, {})) {}
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();
  std::string_view text() const { return text_; }

 private:
  explicit MappedFile(std::string_view text) : text_(text) {}
  std::string_view text_;
};

// Writes `data` to `path` through a temporary file beside it (fsynced, then renamed over `path`) with
// permissions `mode`: readers see the old file or the new one, and after a crash the new one is whole
// or absent. internal when the file cannot be written.
Status write_file_atomically(const std::filesystem::path& path, const std::string& data, mode_t mode = 0644);

}  // namespace jlis
