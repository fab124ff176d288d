// Secret key files of a data directory (DIR/keys/*.key): random bytes, mode 0600 in a 0700 folder,
// made once and never overwritten, read back whole. The bytes never reach a log or a message.
#pragma once

#include <cstddef>
#include <string>

#include "common/status.h"

namespace jlis {

// Creates `path` with `size` random bytes (OpenSSL's RAND_bytes) unless it exists; its folder is
// created and restricted to 0700. O_EXCL: two processes racing never overwrite a key in use.
// `what` names the key in errors ("the My Number key").
Status create_secret_file(const std::string& path, size_t size, const std::string& what);

// The `size` bytes of `path`; invalid_argument when it is missing (`missing_hint` appended) or not
// exactly `size` bytes long. The caller should OPENSSL_cleanse the answer when done with it.
Result<std::string> read_secret_file(const std::string& path, size_t size, const std::string& what,
                                     const std::string& missing_hint = "");

}  // namespace jlis
