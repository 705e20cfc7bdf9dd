import assert from "node:assert/strict";
import {
  DEFAULT_PORT,
  formatTarget,
  parseLoginTarget,
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
