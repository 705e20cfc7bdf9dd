import assert from "node:assert/strict";
import { looksLikeIpv4, parseIpLiteral } from "../../io/ip_address.ts";

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
