#include "fabric/generators/torus.h"

#include <fmt/format.h>

#include "fabric/generators/generators.h"

namespace fabricctl::gen {

size_t TorusShape::switches() const {
  size_t n = 1;
  for (int d : dims) n *= static_cast<size_t>(d);
  return n;
}

std::string TorusCoordName(const TorusShape& shape, size_t s) {
  static constexpr char kAxis[] = {'x', 'y', 'z'};
  std::string name;
  for (size_t d = 0; d < shape.dims.size(); ++d) {
    size_t size = static_cast<size_t>(shape.dims[d]);
    if (d > 0) name += '-';
    name += kAxis[d];
    name += Padded(s % size, size);
    s /= size;
  }
  return name;
}

void BuildTorus(GenBuilder& b, const TorusShape& shape, std::span<const NodeId> hosts, std::string_view prefix,
                Labels switch_labels, LinkRate rate) {
  const size_t n = shape.switches();
  const unsigned radix = shape.radix();
  const unsigned base = shape.hosts_per_switch * shape.host_ports;
  std::vector<NodeId> sw(n);
  for (size_t s = 0; s < n; ++s)
    sw[s] = b.AddSwitch(fmt::format("{}-{}", prefix, TorusCoordName(shape, s)), radix, switch_labels);
  if (!b.ok()) return;
  for (size_t s = 0; s < n; ++s)
    for (unsigned h = 0; h < shape.hosts_per_switch; ++h)
      for (unsigned q = 0; q < shape.host_ports; ++q)
        b.Connect(hosts[s * shape.hosts_per_switch + h], q + 1, sw[s], h * shape.host_ports + q + 1, rate);
  size_t stride = 1;
  for (size_t d = 0; d < shape.dims.size(); ++d) {
    const size_t size = static_cast<size_t>(shape.dims[d]);
    const unsigned plus = base + static_cast<unsigned>(2 * d) * shape.links;
    const unsigned minus = plus + shape.links;
    for (size_t s = 0; s < n; ++s) {
      size_t c = (s / stride) % size;
      size_t next;
      if (c + 1 < size)
        next = s + stride;
      else if (shape.wrap && size >= 3)
        next = s - c * stride;
      else
        continue;
      for (unsigned t = 0; t < shape.links; ++t) b.Connect(sw[s], plus + t + 1, sw[next], minus + t + 1, rate);
    }
    stride *= size;
  }
}

namespace {

constexpr GeneratorParam kParams[] = {
    {"dims", "4x4x4", "switches per dimension, 2D or 3D, such as 8x8 or 4x4x4"},
    {"hosts", "1", "hosts per switch"},
    {"wrap", "true", "true: torus (wrap-around links); false: mesh"},
    {"links", "1", "parallel links between neighbouring switches"},
    {"rate", "4xNDR", "link width and speed"},
};

Result<Fabric> Generate(ParamReader& r) {
  TorusShape shape;
  shape.dims = r.Dims("dims", 64);
  shape.hosts_per_switch = static_cast<unsigned>(r.Int("hosts", 0, 64));
  shape.wrap = r.Bool("wrap");
  shape.links = static_cast<unsigned>(r.Int("links", 1, 8));
  LinkRate rate = r.Rate("rate");
  if (!r.error() && shape.radix() > kMaxSwitchPorts)
    r.Fail(fmt::format("a switch would need {} ports (hosts + 2 x dimensions x links), more than {}", shape.radix(),
                       kMaxSwitchPorts));
  if (r.error()) return std::unexpected(*r.error());
  const size_t n = shape.switches();
  GenBuilder b;
  b.Reserve(n * (1 + shape.hosts_per_switch), n * (shape.radix() + 1 + shape.hosts_per_switch * 2));
  if (!b.ok()) return b.Finish();
  std::vector<NodeId> hosts;
  hosts.reserve(n * shape.hosts_per_switch);
  for (size_t s = 0; s < n; ++s)
    for (unsigned h = 0; h < shape.hosts_per_switch; ++h)
      hosts.push_back(b.AddCa(fmt::format("t-{}-h{}", TorusCoordName(shape, s), h), 1, Labels{.tier = 0}));
  BuildTorus(b, shape, hosts, "t", Labels{.tier = 1, .level = FabricLevel::kScaleOut}, rate);
  return b.Finish();
}

}  // namespace

const GeneratorDef kTorus{
    .info = {.name = "torus",
             .help = "2D/3D torus (or mesh with wrap=false) of switches with hosts; needs VLs (dor, lash, dfsssp)",
             .params = kParams},
    .generate = Generate,
};

}  // namespace fabricctl::gen
