#pragma once
// Shared by the generator tests: generate or fail the test, and the error of a bad set.
#include <doctest/doctest.h>

#include <string>

#include "fabric/generator.h"

namespace fabricctl::testing {

inline Fabric Gen(std::string_view name, const GeneratorParams& params = {}) {
  auto f = Generate(name, params);
  if (!f) FAIL_CHECK(f.error().Format());
  REQUIRE(f);
  return std::move(*f);
}

// The formatted error of a parameter set that must fail.
inline std::string GenError(std::string_view name, const GeneratorParams& params) {
  auto f = Generate(name, params);
  REQUIRE_FALSE(f);
  return f.error().Format();
}

}  // namespace fabricctl::testing
