import assert from "node:assert/strict";
import {
  addressNetwork,
  isLoopbackAddress,
  looksLikeIpv4,
  parseIpLiteral,
} from "../../common/ip_address.ts";

Deno.test("parseIpLiteral() gives one canonical form per address", () => {
  assert.deepEqual(parseIpLiteral("127.0.0.1"), {
    family: 4,
    address: "127.0.0.1",
    zone: null,
  });
  assert.deepEqual(parseIpLiteral("0:0:0:0:0:0:0:1"), {
    family: 6,
    address: "::1",
    zone: null,
  });
  assert.deepEqual(parseIpLiteral("2001:DB8:0:0:1:0:0:1"), {
    family: 6,
    address: "2001:db8::1:0:0:1",
    zone: null,
  });
  assert.deepEqual(parseIpLiteral("fe80::1%eth0"), {
    family: 6,
    address: "fe80::1%eth0",
    zone: "eth0",
  });
});

Deno.test("parseIpLiteral() refuses names, short IPv4 forms and malformed IPv6", () => {
  for (
    const text of [
      "example.org",
      "127.1",
      "0x7f.0.0.1",
      "1.2.3.4.5",
      "256.0.0.1",
      "::1:41877",
      "1::2::3",
      "fe80::1%",
      "fe80::1%a b",
      "",
    ]
  ) {
    assert.equal(parseIpLiteral(text), null, text);
  }
});

Deno.test("looksLikeIpv4() spots dotted numbers only", () => {
  assert.ok(looksLikeIpv4("999.1.1.1"));
  assert.ok(looksLikeIpv4("1.2"));
  assert.ok(!looksLikeIpv4("12345"));
  assert.ok(!looksLikeIpv4("1.example"));
});

Deno.test("isLoopbackAddress() knows 127/8, ::1 and mapped loopback, not wildcards or names", () => {
  for (
    const yes of ["127.0.0.1", "127.9.9.9", "::1", "0:0::1", "::ffff:127.0.0.1"]
  ) {
    assert.equal(isLoopbackAddress(yes), true, yes);
  }
  for (
    const no of [
      "0.0.0.0",
      "::",
      "::2",
      "::ffff:10.0.0.1",
      "localhost",
      "127.1",
    ]
  ) {
    assert.equal(isLoopbackAddress(no), false, no);
  }
});

Deno.test("addressNetwork() keeps IPv4, unmaps mapped IPv4 and folds IPv6 into its /64", () => {
  assert.equal(addressNetwork("192.0.2.1"), "192.0.2.1");
  assert.equal(addressNetwork("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(addressNetwork("2001:0db8:1:2:0:0:0:7"), "2001:db8:1:2::/64");
  assert.equal(addressNetwork("fe80::1%eth0"), "fe80::/64");
  assert.equal(addressNetwork("example.org"), null);
});
