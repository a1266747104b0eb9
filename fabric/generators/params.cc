#include "fabric/generators/params.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "fabric/display_text.h"
#include "fabric/edit_distance.h"

namespace fabricctl::gen {
namespace {

bool ParseInt(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

ParamReader::ParamReader(std::string_view generator, std::span<const GeneratorParam> declared,
                         const GeneratorParams& given)
    : generator_(generator), declared_(declared), given_(&given) {}

Result<ParamReader> ParamReader::Make(std::string_view generator, std::span<const GeneratorParam> declared,
                                      const GeneratorParams& given) {
  std::vector<std::string_view> keys;
  for (const GeneratorParam& p : declared) keys.push_back(p.key);
  for (const auto& [key, value] : given) {
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    std::string all;
    for (std::string_view k : keys) all += (all.empty() ? "" : ", ") + std::string(k);
    return MakeError(fmt::format("{}: unknown parameter '{}'{}; parameters: {}", generator, ShownValue(key),
                                 DidYouMean(key, keys), all));
  }
  return ParamReader(generator, declared, given);
}

void ParamReader::SetDefault(std::string_view key, std::string value) {
  for (auto& [k, v] : overrides_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  overrides_.emplace_back(std::string(key), std::move(value));
}

bool ParamReader::IsSet(std::string_view key) const { return given_->contains(std::string(key)); }

std::string ParamReader::Raw(std::string_view key) const {
  if (auto it = given_->find(std::string(key)); it != given_->end()) return it->second;
  for (const auto& [k, v] : overrides_)
    if (k == key) return v;
  for (const GeneratorParam& p : declared_)
    if (p.key == key) return std::string(p.default_value);
  return {};  // a generator asking for an undeclared key is a bug caught by the tests
}

void ParamReader::Fail(std::string message) {
  if (!error_) error_ = Error{.message = fmt::format("{}: {}", generator_, message)};
}

void ParamReader::FailValue(std::string_view key, std::string_view expected) {
  Fail(fmt::format("bad value '{}' for {}: expected {}", ShownValue(Raw(key)), key, expected));
}

int64_t ParamReader::Int(std::string_view key, int64_t min, int64_t max) {
  int64_t v = 0;
  if (!ParseInt(Raw(key), v) || v < min || v > max) {
    FailValue(key, fmt::format("an integer in {}..{}", min, max));
    return min;
  }
  return v;
}

bool ParamReader::Bool(std::string_view key) {
  std::string v = Raw(key);
  if (v == "true" || v == "yes" || v == "1") return true;
  if (v == "false" || v == "no" || v == "0") return false;
  FailValue(key, "true or false");
  return false;
}

std::string ParamReader::Choice(std::string_view key, std::span<const std::string_view> choices) {
  std::string v = Raw(key);
  if (std::find(choices.begin(), choices.end(), v) != choices.end()) return v;
  std::string all;
  for (std::string_view c : choices) all += (all.empty() ? "" : " or ") + std::string(c);
  FailValue(key, all + DidYouMean(v, choices));
  return std::string(choices.front());
}

LinkRate ParamReader::Rate(std::string_view key) {
  auto ws = ParseWidthSpeed(Raw(key));
  if (!ws) {
    FailValue(key, "width and speed such as 4xNDR, 2xXDR, 4xHDR");
    return LinkRate{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR};
  }
  return LinkRate{.width = ws->first, .speed = ws->second};
}

std::vector<int> ParamReader::Dims(std::string_view key, int max) {
  std::string v = Raw(key);
  std::vector<int> dims;
  size_t start = 0;
  bool ok = true;
  while (ok) {
    size_t x = v.find('x', start);
    std::string_view part = std::string_view(v).substr(start, x == std::string::npos ? std::string::npos : x - start);
    int64_t n = 0;
    ok = ParseInt(part, n) && n >= 1 && n <= max;
    if (ok) dims.push_back(static_cast<int>(n));
    if (x == std::string::npos) break;
    start = x + 1;
  }
  if (!ok || dims.size() < 2 || dims.size() > 3) {
    FailValue(key, fmt::format("2 or 3 sizes in 1..{} joined by 'x', such as 4x4x4", max));
    return {1, 1};
  }
  return dims;
}

}  // namespace fabricctl::gen
