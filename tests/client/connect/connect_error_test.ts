import assert from "node:assert/strict";
import {
  ConnectError,
  connectError,
  ConnectReason,
  identityRefusalText,
  NotTlsError,
} from "../../../client/connect/connect_error.ts";
import { remoteError } from "../../../client/errors.ts";
import { FtsError, ProtocolError } from "../../../protocol/errors.ts";

const HERE = "127.0.0.1:1";

/** `connectError()`'s answer, which must be a ConnectError. */
function translated(error: unknown): ConnectError {
  const result = connectError(HERE, error);
  assert.ok(result instanceof ConnectError, String(result));
  return result;
}

Deno.test("connectError() gives each failure its kind, code and words, from Deno's classes and node's codes alike", () => {
  const nodeError = (code: string) =>
    Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
  const cases: [unknown, string, string, string][] = [
    [
      new Deno.errors.ConnectionRefused("x"),
      "refused",
      "io",
      "connection refused",
    ],
    [nodeError("ECONNREFUSED"), "refused", "io", "connection refused"],
    [new Deno.errors.TimedOut("x"), "timed_out", "io", "timed out"],
    [nodeError("ECONNRESET"), "reset", "io", "the server reset the connection"],
    [nodeError("ENOTFOUND"), "host_not_found", "io", "host not found"],
    [
      new Deno.errors.NetworkUnreachable("x"),
      "unreachable",
      "io",
      "network unreachable",
    ],
    [
      new ConnectReason("closed"),
      "closed",
      "io",
      "the server closed the connection",
    ],
    [
      new ConnectReason("no_answer", { detail: 250 }),
      "no_answer",
      "timeout",
      "no answer within 250 ms",
    ],
    [
      new ConnectReason("login_required"),
      "login_required",
      "auth_required",
      "the server requires a login",
    ],
    [
      new ProtocolError("Expected WELCOME, got OK"),
      "not_fts",
      "protocol",
      "the server does not speak fts (Expected WELCOME, got OK)",
    ],
    [
      new DOMException("stop", "AbortError"),
      "cancelled",
      "cancelled",
      "cancelled",
    ],
    [nodeError("EPROTO"), "system", "io", "connect EPROTO 127.0.0.1:1"],
  ];
  for (const [error, failure, code, reason] of cases) {
    const result = translated(error);
    assert.equal(result.failure, failure, reason);
    assert.equal(result.code, code, reason);
    assert.equal(result.message, `Cannot connect to ${HERE}: ${reason}`);
    assert.equal(result.reason, reason);
  }
});

Deno.test("connectError() keeps the server's code for its refusal, and reads a missing login from the code alone", () => {
  const busy = translated(
    remoteError({
      code: "io",
      message: "Upstream: the server closed the connection",
    }),
  );
  assert.equal(busy.failure, "refused_by_server");
  const login = translated(
    remoteError({ code: "auth_required", message: "Log in, please" }),
  );
  assert.equal(login.failure, "login_required");
  assert.equal(login.code, "auth_required");
  const wrong = translated(
    remoteError({
      code: "auth_failed",
      message: "Wrong user name or password",
    }),
  );
  assert.equal(wrong.failure, "refused_by_server");
  assert.equal(wrong.code, "auth_failed");
});

Deno.test("connectError() passes other FtsErrors and unknown errors on as they are", () => {
  const own = new FtsError("io", "Cannot read the DNS settings");
  assert.equal(connectError(HERE, own), own);
  const plain = new NotTlsError("127.0.0.1:1", "http");
  assert.equal(connectError(HERE, plain), plain);
  const bug = new TypeError("x is not a function");
  assert.equal(connectError(HERE, bug), bug);
});

Deno.test("ConnectError.at() shows the same failure for another address", () => {
  const quoted = new ConnectError(`"${HERE}"`, "refused");
  const plain = quoted.at(HERE);
  assert.equal(plain.message, `Cannot connect to ${HERE}: connection refused`);
  assert.equal(plain.failure, "refused");
  assert.equal(plain.cause, quoted);
});

Deno.test("NotTlsError and identityRefusalText() word what answered and why an identity was refused", () => {
  assert.equal(
    new NotTlsError(HERE, "ssh").message,
    `Cannot connect to "${HERE}" over TLS: it is an SSH server, not an fts server`,
  );
  assert.equal(new NotTlsError(HERE, "fts").code, "protocol");
  assert.equal(
    identityRefusalText(HERE, { reason: "declined", offered: "SHA256:a" }),
    `Cannot connect to "${HERE}": its identity SHA256:a was not accepted`,
  );
  assert.equal(
    identityRefusalText(HERE, {
      reason: "mismatch",
      stored: "SHA256:a",
      offered: "SHA256:b",
    }),
    `WARNING: server identity for ${HERE} changed! stored SHA256:a offered SHA256:b — refusing to connect`,
  );
});
