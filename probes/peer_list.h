#pragma once
// The targets an agent may probe on a coordinator's order: the DATA_ADDR of every line of
// a version-2 agents file (docs/sweeps.md), given to `probe serve --peers`. Only the
// addresses are kept; the rest of each line is checked for form, so a file the sweep would
// refuse is refused here too, with the same file:line errors. Nothing is resolved: names
// are compared as written (case-insensitively), numeric addresses in canonical form.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "fabric/error.h"

namespace fabricctl::probes {

class PeerList {
 public:
  // A target as an order names it, "ADDR[:PORT]" (default port 18520).
  bool Contains(std::string_view target) const;
  std::size_t size() const { return peers_.size(); }
  void Add(std::string host, std::uint16_t port) { peers_.emplace(std::move(host), port); }

 private:
  std::set<std::pair<std::string, std::uint16_t>> peers_;  // canonical host, port
};

// `filename` names the text in errors.
Result<PeerList> ParsePeerList(std::string_view text, std::string_view filename);
Result<PeerList> ReadPeerList(const std::string& path);

// The canonical (host, port) of "ADDR[:PORT]", as PeerList compares them; an error when
// the form is wrong (HostPortProblem).
Result<std::pair<std::string, std::uint16_t>> CanonicalPeer(std::string_view address);

}  // namespace fabricctl::probes
