#pragma once
// Test helper, the one every C++ test uses for files of its own: a fresh directory under
// the temporary directory (TMPDIR, else /tmp), removed with everything in it on scope
// exit, also when a REQUIRE ends the test early.
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace fabricctl::testing {

struct ScratchDir {
  // `tag` names the directory (fabricctl-TAG.XXXXXX), to tell whose it is when one is left.
  explicit ScratchDir(std::string_view tag = "test") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("fabricctl-" + std::string(tag) + ".XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern + " failed");
    dir = std::move(pattern);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // The path of `name` inside the directory.
  std::string operator/(std::string_view name) const { return dir + "/" + std::string(name); }

  std::string dir;
};

}  // namespace fabricctl::testing
