#pragma once
// Reads a generator's --set key=value parameters against the keys it declares. Errors are
// collected, not thrown: a generator reads every parameter it needs, then asks for the
// first error, so its code stays a straight line.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric_builder.h"
#include "fabric/generator.h"

namespace fabricctl::gen {

class ParamReader {
 public:
  // Fails on keys the generator does not declare (with a suggestion).
  static Result<ParamReader> Make(std::string_view generator, std::span<const GeneratorParam> declared,
                                  const GeneratorParams& given);

  // Replaces a declared default (presets); a value given with --set still wins.
  void SetDefault(std::string_view key, std::string value);
  bool IsSet(std::string_view key) const;
  // The given value, else the default.
  std::string Raw(std::string_view key) const;

  // Each returns a harmless fallback on error and records the first error.
  int64_t Int(std::string_view key, int64_t min, int64_t max);
  bool Bool(std::string_view key);
  std::string Choice(std::string_view key, std::span<const std::string_view> choices);
  LinkRate Rate(std::string_view key);
  // "4x4x4": 2 or 3 sizes, each in 1..max.
  std::vector<int> Dims(std::string_view key, int max);

  // Records an error about a combination of parameters: "<generator>: <message>".
  void Fail(std::string message);
  // Records "<generator>: bad value 'v' for key: expected <expected>".
  void FailValue(std::string_view key, std::string_view expected);
  const std::optional<Error>& error() const { return error_; }
  std::string_view generator() const { return generator_; }

 private:
  ParamReader(std::string_view generator, std::span<const GeneratorParam> declared, const GeneratorParams& given);
  std::string generator_;
  std::span<const GeneratorParam> declared_;
  const GeneratorParams* given_;
  std::vector<std::pair<std::string, std::string>> overrides_;
  std::optional<Error> error_;
};

}  // namespace fabricctl::gen
