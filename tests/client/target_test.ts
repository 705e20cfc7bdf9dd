import assert from "node:assert/strict";
import {
  DEFAULT_PORT,
  formatTarget,
  parseTarget,
} from "../../client/target.ts";

Deno.test("parseTarget() reads HOST, HOST:PORT and bracketed IPv6", () => {
  assert.deepEqual(parseTarget("example.org"), {
    hostname: "example.org",
    port: DEFAULT_PORT,
  });
  assert.deepEqual(parseTarget("127.0.0.1:2000"), {
    hostname: "127.0.0.1",
    port: 2000,
  });
  assert.deepEqual(parseTarget("[::1]:12345"), {
    hostname: "::1",
    port: 12345,
  });
  assert.deepEqual(parseTarget("[::1]"), {
    hostname: "::1",
    port: DEFAULT_PORT,
  });
  assert.deepEqual(parseTarget("::1"), { hostname: "::1", port: DEFAULT_PORT });
  assert.deepEqual(parseTarget("fe80::1:2"), {
    hostname: "fe80::1:2",
    port: DEFAULT_PORT,
  });
});

Deno.test("parseTarget() refuses bad ports and hosts", () => {
  for (
    const bad of [
      "",
      ":80",
      "h:0",
      "h:65536",
      "h:x",
      "h:",
      "[::1",
      "[::1]x",
      "a/b",
      "a b",
    ]
  ) {
    assert.throws(() => parseTarget(bad), SyntaxError, bad);
  }
});

Deno.test("formatTarget() brackets IPv6 addresses", () => {
  assert.equal(formatTarget({ hostname: "::1", port: 1 }), "[::1]:1");
  assert.equal(formatTarget({ hostname: "h", port: 2 }), "h:2");
});
