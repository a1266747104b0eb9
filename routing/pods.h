#pragma once
// The pods of a switch graph, for cut bounds around groups of switches: take out the top
// tier (the switches farthest, in hops, from every switch with endpoints) and a pod is a
// set of the other switches joined without it. On a fat tree these are the pods (leaves and
// their aggregation switches), and a pod that lost aggregation switches or core cables
// must carry all its traffic to the rest of the fabric over fewer cables than any one of
// its switches has: a busiest-channel bound that a cut around one switch does not see. On
// any other fabric the bound stays valid (every route from a pod's endpoints to the others
// leaves it over a cable to the top tier), only weaker.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "fabric/fabric.h"

namespace fabricctl {

struct Pods {
  std::vector<uint32_t> of;  // per switch: its pod, kNone for the top tier and for switches no endpoint switch reaches
  uint32_t count = 0;
};

// neighbours(s, visit) calls visit(t) for every switch-to-switch channel s -> t;
// has_endpoints(s) says whether endpoints hang on s.
template <typename Neighbours, typename HasEndpoints>
Pods PodsBelowTop(uint32_t num_switches, const Neighbours& neighbours, const HasEndpoints& has_endpoints) {
  std::vector<uint32_t> height(num_switches, kNone), queue;
  for (uint32_t s = 0; s < num_switches; ++s)
    if (has_endpoints(s)) {
      height[s] = 0;
      queue.push_back(s);
    }
  uint32_t top = 0;
  for (size_t i = 0; i < queue.size(); ++i) {
    const uint32_t s = queue[i];
    top = std::max(top, height[s]);
    neighbours(s, [&](uint32_t t) {
      if (height[t] != kNone) return;
      height[t] = height[s] + 1;
      queue.push_back(t);
    });
  }
  Pods pods{.of = std::vector<uint32_t>(num_switches, kNone)};
  if (top == 0) return pods;  // no tier above the endpoint switches
  for (uint32_t first : queue) {
    if (height[first] == top || pods.of[first] != kNone) continue;
    const uint32_t pod = pods.count++;
    pods.of[first] = pod;
    std::vector<uint32_t> members{first};
    while (!members.empty()) {
      const uint32_t s = members.back();
      members.pop_back();
      neighbours(s, [&](uint32_t t) {
        if (height[t] == top || pods.of[t] != kNone) return;
        pods.of[t] = pod;
        members.push_back(t);
      });
    }
  }
  return pods;
}

}  // namespace fabricctl
