import assert from "node:assert/strict";
import { classifyTlsFailure } from "../../common/tls_failure.ts";
import { createTestCa } from "../_helpers/tls/ca.ts";
import { startPlainHangUp, startTlsEcho } from "../_helpers/tls/servers.ts";

const HOST = "127.0.0.1";

/** The error of a Deno TLS handshake with `port` asking for `hostname`. */
async function handshakeError(
  port: number,
  hostname: string,
): Promise<unknown> {
  const tcp = await Deno.connect({ hostname: HOST, port });
  const conn = await Deno.startTls(tcp, { hostname });
  try {
    await conn.handshake();
  } catch (error) {
    return error;
  } finally {
    conn.close();
  }
  throw new Error("the handshake succeeded");
}

Deno.test("classifyTlsFailure() reads Deno's real handshake failures: plain text, a refused certificate", async () => {
  {
    await using plain = startPlainHangUp(
      Uint8Array.of(0x46, 0x54, 1, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    );
    assert.equal(
      classifyTlsFailure(await handshakeError(plain.port, "x.invalid")),
      "not_tls",
    );
  }
  const ca = await createTestCa();
  await using server = startTlsEcho(await ca.issue({ ip: [HOST] }));
  // The test CA is not among the roots.
  assert.equal(
    classifyTlsFailure(await handshakeError(server.port, HOST)),
    "certificate",
  );
});

Deno.test("classifyTlsFailure() leaves errors that are not TLS failures as other", () => {
  assert.equal(
    classifyTlsFailure(new Error("invalid peer certificate: UnknownIssuer")),
    "other",
  );
  assert.equal(
    classifyTlsFailure(new Deno.errors.ConnectionReset("reset")),
    "other",
  );
});
