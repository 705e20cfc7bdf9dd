import assert from "node:assert/strict";
import { connectTcp } from "../../../client/connect/handshake.ts";
import { connectError } from "../../../client/connect/connect_error.ts";
import { openSession } from "../../../client/engine/session.ts";
import { ServerIdentityError } from "../../../client/connect/tls_connect.ts";
import { FtsError } from "../../../protocol/errors.ts";

// A fingerprint is base64: about one key in 800 has "dns" (or "lookup",
// "resolve") somewhere in it, which once turned a refused identity into
// "host not found".
const FINGERPRINT = "SHA256:AbDnSx0lookupResolve1234567890abcdefghijklm";

Deno.test("openSession() passes a refused server identity on unchanged, whatever its fingerprint spells", async () => {
  const refusal = new ServerIdentityError(
    "unknown",
    `Cannot connect to "127.0.0.1:1": its identity ${FINGERPRINT} is not known and there is no terminal to ask`,
  );
  await assert.rejects(
    openSession("127.0.0.1:1", { connect: () => Promise.reject(refusal) }),
    (error) => {
      assert.equal(error, refusal);
      return true;
    },
  );
});

Deno.test("connectError() words a connection's own failures and keeps other FtsErrors", () => {
  const refused = connectError(
    "127.0.0.1:1",
    new Deno.errors.ConnectionRefused("os error 111"),
  );
  assert.ok(refused instanceof FtsError);
  assert.equal(
    refused.message,
    "Cannot connect to 127.0.0.1:1: connection refused",
  );
  // A missing file is not a missing host.
  const missing = connectError(
    "127.0.0.1:1",
    new Deno.errors.NotFound("No such file or directory (os error 2)"),
  );
  assert.ok(missing instanceof FtsError);
  assert.equal(
    missing.message,
    "Cannot connect to 127.0.0.1:1: No such file or directory (os error 2)",
  );
  const own = new FtsError("io", "Cannot read the DNS settings");
  assert.equal(connectError("127.0.0.1:1", own), own);
});

Deno.test("connectTcp() tells a name that does not resolve from a refused connection", async () => {
  await assert.rejects(
    connectTcp({ hostname: "no-such-host.invalid", port: 1 }),
    (error) => {
      assert.ok(error instanceof FtsError);
      assert.equal(error.code, "io");
      assert.equal(error.message, "host not found");
      return true;
    },
  );
  const port = (() => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return listener.addr.port;
  })();
  await assert.rejects(
    connectTcp({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("openSession() says the server closed the connection when sending HELLO finds it gone", async () => {
  // A write after the server hung up fails with "broken pipe", or with
  // "Bad resource ID" when Deno's TLS stream has already ended.
  for (
    const lost of [
      new Deno.errors.BrokenPipe("broken pipe"),
      new Deno.errors.BadResource("Bad resource ID"),
    ]
  ) {
    const gone = {
      read: () => Promise.resolve(null),
      write: () => Promise.reject(lost),
      close: () => {},
    };
    await assert.rejects(
      openSession("127.0.0.1:1", { connect: () => Promise.resolve(gone) }),
      (error) => {
        assert.ok(error instanceof FtsError);
        assert.equal(error.code, "io");
        assert.equal(
          error.message,
          "Cannot connect to 127.0.0.1:1: the server closed the connection",
        );
        return true;
      },
    );
  }
});
