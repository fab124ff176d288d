// Whole files: read one, or write one so that no reader ever sees half of it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "common/status.h"

namespace jlis {

// The bytes of `path`; not_found when it cannot be read.
Result<std::string> read_file(const std::filesystem::path& path);

// Writes `data` to `path` through a temporary file beside it (fsynced, then renamed over `path`) with
// permissions `mode`: readers see the old file or the new one, and after a crash the new one is whole
// or absent. internal when the file cannot be written.
Status write_file_atomically(const std::filesystem::path& path, const std::string& data, mode_t mode = 0644);

}  // namespace jlis
