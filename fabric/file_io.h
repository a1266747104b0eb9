#pragma once
// Whole-file reads and atomic writes (temp file in the same directory, fsync, rename).
#include <string>
#include <string_view>

#include "fabric/error.h"

namespace fabricctl {

// "-" reads standard input.
Result<std::string> ReadFile(const std::string& path);
// ReadFile for text formats: fails at the first NUL byte (`file:line: binary data ...`)
// without reading further, so a binary file, or /dev/urandom, fails at once.
Result<std::string> ReadTextFile(const std::string& path);
// Whether `path` can name an output file: not a directory, in a directory that exists.
// Lets a command fail before it spends time producing the contents. "-" is fine.
Result<void> CheckWritablePath(const std::string& path);
// Writes `contents` to path atomically; "-" writes to standard output.
Result<void> WriteFileAtomic(const std::string& path, std::string_view contents);

}  // namespace fabricctl
