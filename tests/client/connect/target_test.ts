import assert from "node:assert/strict";
import { DEFAULT_PORT } from "../../../protocol/frame.ts";
import {
  formatTarget,
  parseLoginTarget,
  parseTarget,
} from "../../../client/connect/target.ts";

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

Deno.test("parseLoginTarget() splits USER@ off as ssh does", () => {
  assert.deepEqual(parseLoginTarget("ana@files.example.org:2000"), {
    user: "ana",
    target: { hostname: "files.example.org", port: 2000 },
  });
  assert.deepEqual(parseLoginTarget("ana@[::1]"), {
    user: "ana",
    target: { hostname: "::1", port: 12345 },
  });
  assert.deepEqual(parseLoginTarget("127.0.0.1"), {
    user: null,
    target: { hostname: "127.0.0.1", port: 12345 },
  });
});

Deno.test("parseLoginTarget() refuses an empty or odd user without echoing it", () => {
  assert.throws(() => parseLoginTarget("@host"), /Missing user name/);
  for (const text of ["ana:s3cret@host", "a b@host", "a\x1b@host"]) {
    assert.throws(
      () => parseLoginTarget(text),
      (error: unknown) => {
        assert.ok(error instanceof SyntaxError);
        assert.match(error.message, /^Invalid user name before "@"/);
        assert.ok(!error.message.includes("s3cret"));
        return true;
      },
    );
  }
});

Deno.test("parseTarget() accepts IPv6 with zone ids and gives IP addresses their canonical form", () => {
  assert.deepEqual(parseTarget("fe80::1%lo"), {
    hostname: "fe80::1%lo",
    port: DEFAULT_PORT,
  });
  assert.deepEqual(parseTarget("[fe80::1%eth0]:2000"), {
    hostname: "fe80::1%eth0",
    port: 2000,
  });
  assert.deepEqual(parseTarget("[0:0:0:0:0:0:0:1]:7"), {
    hostname: "::1",
    port: 7,
  });
  assert.deepEqual(parseTarget("FE80::A"), {
    hostname: "fe80::a",
    port: DEFAULT_PORT,
  });
});

Deno.test("parseTarget() names the problem in one line for odd hosts", () => {
  const cases: [string, string][] = [
    [
      "::1:41877",
      '"::1:41877" is not a valid IPv6 address; with a port, write [::1]:41877',
    ],
    ["1.2.3.4.5", '"1.2.3.4.5" is not a valid IPv4 address'],
    ["999.1.1.1:80", '"999.1.1.1" is not a valid IPv4 address'],
    ["127.1", '"127.1" is not a valid IPv4 address'],
    ["[1.2.3.4]:5", '"1.2.3.4" in "[1.2.3.4]:5" is not an IPv6 address'],
    ["[fe80::1%]:5", '"fe80::1%" in "[fe80::1%]:5" is not an IPv6 address'],
    ["a..b", '"a..b" is not a valid host name'],
    ["x\x1b[31m", '"x\\u{1b}[31m" is not a valid host name'],
    ["-a.example", '"-a.example" is not a valid host name'],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseTarget(text), (error: unknown) => {
      assert.ok(error instanceof SyntaxError, text);
      assert.equal(error.message, message);
      return true;
    });
  }
});
