#pragma once
// Test helper: a fresh directory under /tmp, removed with everything in it on scope exit.
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace fabricctl::testing {

struct ScratchDir {
  ScratchDir() {
    char tmpl[] = "/tmp/fabricctl-test.XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string dir;
};

}  // namespace fabricctl::testing
