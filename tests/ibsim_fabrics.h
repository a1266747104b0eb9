#pragma once
// Small ibsim topology files for the ibsim_* suites, written without the generators so the
// suites do not depend on them: a 2-tier fat tree and a 2-D torus of switches with hosts.
#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

namespace fabricctl::testing {

// Builds ibsim's netfile text: node records with "[port] "peer"[port]" lines.
class NetFileWriter {
 public:
  void Node(const std::string& type, unsigned ports, const std::string& name) {
    order_.push_back(name);
    nodes_[name] = {type, ports, {}};
  }
  void Cable(const std::string& a, unsigned pa, const std::string& b, unsigned pb) {
    nodes_[a].lines.push_back(fmt::format("[{}]\t\"{}\"[{}]", pa, b, pb));
    nodes_[b].lines.push_back(fmt::format("[{}]\t\"{}\"[{}]", pb, a, pa));
  }
  std::string Text() const {
    std::string s;
    for (const std::string& name : order_) {
      const Rec& r = nodes_.at(name);
      s += fmt::format("{}\t{} \"{}\"\n", r.type, r.ports, name);
      for (const std::string& l : r.lines) s += l + "\n";
      s += "\n";
    }
    return s;
  }

 private:
  struct Rec {
    std::string type;
    unsigned ports;
    std::vector<std::string> lines;
  };
  std::vector<std::string> order_;
  std::map<std::string, Rec> nodes_;
};

// Leaves with `hosts` hosts each, every leaf cabled `width` times to every spine. The first
// record (the SM port ibsim attaches clients to) is leaf0.
inline std::string FatTree2(unsigned leaves, unsigned spines, unsigned hosts, unsigned width = 1) {
  NetFileWriter w;
  for (unsigned l = 0; l < leaves; ++l) w.Node("Switch", hosts + spines * width, fmt::format("leaf{}", l));
  for (unsigned s = 0; s < spines; ++s) w.Node("Switch", leaves * width, fmt::format("spine{}", s));
  for (unsigned l = 0; l < leaves; ++l)
    for (unsigned h = 0; h < hosts; ++h) w.Node("Hca", 1, fmt::format("host{}-{}", l, h));
  for (unsigned l = 0; l < leaves; ++l) {
    for (unsigned h = 0; h < hosts; ++h) w.Cable(fmt::format("leaf{}", l), h + 1, fmt::format("host{}-{}", l, h), 1);
    for (unsigned s = 0; s < spines; ++s)
      for (unsigned k = 0; k < width; ++k)
        w.Cable(fmt::format("leaf{}", l), hosts + s * width + k + 1, fmt::format("spine{}", s), l * width + k + 1);
  }
  return w.Text();
}

// An x-by-y torus of 5-port switches (ports 1-4: +x, -x, +y, -y; port 5: one host).
inline std::string Torus2(unsigned x, unsigned y) {
  NetFileWriter w;
  auto sw = [](unsigned i, unsigned j) { return fmt::format("sw{}-{}", i, j); };
  for (unsigned j = 0; j < y; ++j)
    for (unsigned i = 0; i < x; ++i) w.Node("Switch", 5, sw(i, j));
  for (unsigned j = 0; j < y; ++j)
    for (unsigned i = 0; i < x; ++i) w.Node("Hca", 1, fmt::format("h{}-{}", i, j));
  for (unsigned j = 0; j < y; ++j)
    for (unsigned i = 0; i < x; ++i) {
      w.Cable(sw(i, j), 1, sw((i + 1) % x, j), 2);
      w.Cable(sw(i, j), 3, sw(i, (j + 1) % y), 4);
      w.Cable(sw(i, j), 5, fmt::format("h{}-{}", i, j), 1);
    }
  return w.Text();
}

}  // namespace fabricctl::testing
