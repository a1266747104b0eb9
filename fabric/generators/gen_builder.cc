#include "fabric/generators/gen_builder.h"

#include <fmt/format.h>

namespace fabricctl::gen {

int IndexWidth(size_t count) {
  int digits = 1;
  for (size_t v = count > 0 ? count - 1 : 0; v >= 10; v /= 10) ++digits;
  return digits < 2 ? 2 : digits;
}

std::string Padded(size_t value, size_t count) { return fmt::format("{:0{}}", value, IndexWidth(count)); }

std::string AcceleratorName(size_t super_node, size_t super_nodes, size_t index) {
  return fmt::format("sn{}-acc{:04}", Padded(super_node, super_nodes), index);
}

void GenBuilder::Reserve(size_t nodes, size_t port_slots) {
  // Parameters a user tries "to see what happens" must not end in the OOM killer; see
  // kMaxPortSlots. Nothing is added after this error, so the generator finishes quickly.
  if (port_slots > kMaxPortSlots) {
    Fail(
        fmt::format("the fabric would have {} nodes and {} ports, more than the {} ports (about 5 GiB of memory) "
                    "fabricctl generates; choose smaller parameters",
                    nodes, port_slots, kMaxPortSlots));
    return;
  }
  b_.Reserve(nodes, port_slots);
}

NodeId GenBuilder::Add(NodeType type, uint64_t guid, std::string description, unsigned ports, Labels labels) {
  if (error_) return kNone;
  auto id = b_.AddNode({.type = type,
                        .num_ports = ports,
                        .guid = guid,
                        .system_guid = guid,
                        .description = std::move(description),
                        .labels = labels});
  if (!id) {
    Fail(id.error().message);
    return kNone;
  }
  return *id;
}

NodeId GenBuilder::AddCa(std::string description, unsigned ports, Labels labels) {
  uint64_t guid = kCaGuidBase + (cas_++ << 8);
  NodeId n = Add(NodeType::kCa, guid, std::move(description), ports, labels);
  if (n == kNone) return n;
  for (unsigned p = 1; p <= ports; ++p) b_.port(n, p).guid = guid + p;
  return n;
}

NodeId GenBuilder::AddSwitch(std::string description, unsigned ports, Labels labels) {
  return Add(NodeType::kSwitch, kSwitchGuidBase + switches_++, std::move(description), ports, labels);
}

void GenBuilder::Connect(NodeId a, unsigned port_a, NodeId b, unsigned port_b, LinkRate rate) {
  if (error_) return;
  if (auto l = b_.Connect(a, port_a, b, port_b, rate); !l) Fail(l.error().message);
}

void GenBuilder::Fail(std::string message) {
  if (!error_) error_ = Error{.message = std::move(message)};
}

Result<Fabric> GenBuilder::Finish() {
  if (error_) return std::unexpected(*error_);
  return b_.Build();
}

}  // namespace fabricctl::gen
