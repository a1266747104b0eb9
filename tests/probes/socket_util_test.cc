#include "probes/socket_util.h"

#include <doctest/doctest.h>
#include <netinet/in.h>

#include <string>

namespace fabricctl::probes {
namespace {

std::string Parsed(std::string_view text, std::uint16_t default_port, std::string_view default_host = {}) {
  auto a = ParseHostPort(text, default_port, default_host);
  return a ? AddressText(a->addr, a->len) : "error: " + a.error().message;
}

TEST_CASE("every address form: host, host:port, [v6]:port, and a bare port only where a default host is given") {
  CHECK(Parsed("198.18.0.1:18607", 18520) == "198.18.0.1:18607");
  CHECK(Parsed("198.18.0.1", 18520) == "198.18.0.1:18520");
  CHECK(Parsed("[::1]:18607", 18520) == "[::1]:18607");
  CHECK(Parsed("[::1]", 18520) == "[::1]:18520");
  CHECK(Parsed("localhost:7", 18520).ends_with(":7"));
  CHECK(Parsed("127.0.0.1:0", 18520) == "127.0.0.1:0");
  // A bare port: on the default host for a listener, never an IPv4 address.
  CHECK(Parsed("18607", 18520, "127.0.0.1") == "127.0.0.1:18607");
  CHECK(Parsed("0", 18520, "127.0.0.1") == "127.0.0.1:0");
  CHECK(Parsed("18607", 18520) == "error: '18607' is a bare number: write HOST:PORT (e.g. 127.0.0.1:18607)");
  CHECK(Parsed("99999", 18520, "127.0.0.1") == "error: '99999': port must be a number in 0..65535");
  // inet_aton's shorthands are not addresses here.
  CHECK(Parsed("10.1:5", 18520) == "error: '10.1:5': '10.1' is not an IPv4 address (write it as a.b.c.d)");
  CHECK(Parsed("0x7f000001", 18520).starts_with("error: '0x7f000001': '0x7f000001' is not an IPv4 address"));
  CHECK(Parsed("0177.0.0.1:5", 18520).starts_with("error: '0177.0.0.1:5': '0177.0.0.1' is not an IPv4 address"));
  CHECK(Parsed("::1", 18520) == "error: '::1': write IPv6 addresses as [ADDR]:PORT");
  CHECK(Parsed("[::1", 18520) == "error: '[::1': missing ']' after IPv6 address");
  CHECK(Parsed("[::1]x", 18520) == "error: '[::1]x': expected ':PORT' after ']'");
  CHECK(Parsed("host:", 18520) == "error: 'host:': port must be a number in 0..65535");
  CHECK(Parsed(":5", 18520) == "error: ':5': missing host");
  CHECK(Parsed("198.18.0.1", 0) == "error: '198.18.0.1': missing port (expected HOST:PORT)");
  CHECK(Parsed("1.2.3.4:+5", 18520) == "error: '1.2.3.4:+5': port must be a number in 0..65535");
}

TEST_CASE("a per-source limit counts an IPv4 address, or an IPv6 /64") {
  auto block = [](std::string_view text) {
    auto a = ParseHostPort(text, 1);
    REQUIRE(a);
    return SourceBlock(a->addr);
  };
  CHECK(block("127.0.0.2:5") == block("127.0.0.2:6"));
  CHECK(block("127.0.0.2:5") != block("127.0.0.3:5"));
  CHECK(block("[2001:db8:0:1::1]:5") == block("[2001:db8:0:1::ffff]:5"));
  CHECK(block("[2001:db8:0:1::1]:5") != block("[2001:db8:0:2::1]:5"));
  CHECK(block("[::ffff:127.0.0.2]:5") == block("127.0.0.2:5"));
}

}  // namespace
}  // namespace fabricctl::probes
