#include "routing/manage/damping.h"

#include <algorithm>

namespace fabricctl {

bool LinkDamping::Observe(LinkId link, bool up, double now) {
  (void)up;  // every change counts, down or up: a flap is the pair
  Record& r = links_[link];
  r.changes.push_back(now);
  while (!r.changes.empty() && r.changes.front() < now - options_.window_seconds) r.changes.pop_front();
  // Still held: every further change restarts the hold.
  if (r.changes.size() >= options_.flaps || now < r.held_until) r.held_until = now + options_.hold_down_seconds;
  return now < r.held_until;
}

bool LinkDamping::HeldDown(LinkId link, double now) const {
  auto it = links_.find(link);
  return it != links_.end() && now < it->second.held_until;
}

std::vector<LinkId> LinkDamping::HeldLinks(double now) const {
  std::vector<LinkId> out;
  for (const auto& [link, r] : links_)
    if (now < r.held_until) out.push_back(link);
  std::sort(out.begin(), out.end());
  return out;
}

double LinkDamping::NextRelease(double now) const {
  double next = 0;
  for (const auto& [link, r] : links_)
    if (now < r.held_until && (next == 0 || r.held_until < next)) next = r.held_until;
  return next;
}

}  // namespace fabricctl
