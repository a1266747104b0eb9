#pragma once
// Flap damping: a link that changes state N times within T seconds is held down for H
// seconds after its last change, so a flaky cable does not make the manager reroute the
// fabric back and forth. Pure bookkeeping: the caller passes the time in (seconds on any
// monotonic clock), so it is tested without sleeping.
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "fabric/fabric.h"

namespace fabricctl {

struct DampingOptions {
  unsigned flaps = 3;             // state changes within the window that hold a link down
  double window_seconds = 30;     // T
  double hold_down_seconds = 60;  // H, counted from the link's last change
};

class LinkDamping {
 public:
  explicit LinkDamping(DampingOptions options = {}) : options_(options) {}

  // The link was seen changing to `up` at `now`. Returns true when this change puts (or
  // keeps) the link held down.
  bool Observe(LinkId link, bool up, double now);
  // Whether the link is held down at `now` (whatever state it was last seen in).
  bool HeldDown(LinkId link, double now) const;
  // Seen up and not held down.
  bool Usable(LinkId link, bool seen_up, double now) const { return seen_up && !HeldDown(link, now); }
  // Links held down at `now`, ascending.
  std::vector<LinkId> HeldLinks(double now) const;
  // The earliest time after `now` at which a held link is released; 0 when none is held.
  double NextRelease(double now) const;

 private:
  struct Record {
    std::deque<double> changes;  // within the window of the last change
    double held_until = 0;
  };
  DampingOptions options_;
  std::unordered_map<LinkId, Record> links_;
};

}  // namespace fabricctl
