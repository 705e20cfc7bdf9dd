import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import {
  normaliseFingerprint,
  pinnedHostname,
  spkiFingerprint,
} from "../../common/fingerprint.ts";
import { describeCertificate } from "../../client/connect/certificate.ts";
import { loadOrCreateIdentity } from "../../server/tls/tls_identity.ts";
import { tempDir } from "../_helpers/common/temp_dir.ts";

const FP_A = "SHA256:u6tlZUS/baH9Lr56Zs+gR7BuYQMEZxyDtvFxW68qeeA";

Deno.test("spkiFingerprint() is SHA256: and the unpadded base64 of the key's SHA-256", () => {
  const spki = new TextEncoder().encode("not really a key");
  const digest = createHash("sha256").update(spki).digest("base64");
  assert.equal(spkiFingerprint(spki), "SHA256:" + digest.slice(0, 43));
  assert.equal(digest.at(-1), "=");
});

Deno.test("pinnedHostname() is fts- and the first 16 hex digits of the fingerprint's digest", () => {
  assert.equal(pinnedHostname(FP_A), "fts-bbab656544bf6da1.invalid");
  assert.equal(pinnedHostname(FP_A.slice(7) + "="), pinnedHostname(FP_A));
  assert.throws(() => pinnedHostname("SHA256:abc"), SyntaxError);
});

Deno.test("the server's identity and the client's view of its certificate agree on fingerprint and pinning name", async () => {
  await using dir = await tempDir();
  const identity = await loadOrCreateIdentity(dir.path);
  const der = new X509Certificate(identity.certPem).raw;
  const seen = describeCertificate(new Uint8Array(der));
  assert.equal(seen.fingerprint, identity.fingerprint);
  assert.equal(seen.pinnedHostname, identity.hostname);
  assert.equal(identity.hostname, pinnedHostname(identity.fingerprint));
});

Deno.test("normaliseFingerprint() accepts padding, no prefix and hex", () => {
  assert.equal(normaliseFingerprint(FP_A), FP_A);
  assert.equal(normaliseFingerprint(` ${FP_A}= `), FP_A);
  assert.equal(normaliseFingerprint(FP_A.slice(7)), FP_A);
  assert.equal(normaliseFingerprint("sha256:" + FP_A.slice(7)), FP_A);
  const digits =
    "bbab656544bf6da1fd2ebe7a66cfa047b06e610304671c83b6f1715baf2a79e0";
  assert.equal(normaliseFingerprint(digits), FP_A);
  const pairs = digits.toUpperCase().match(/../g)!.join(":");
  assert.equal(normaliseFingerprint(pairs), FP_A);
});

Deno.test("normaliseFingerprint() refuses what is not a SHA-256", () => {
  for (
    const bad of [
      "",
      "SHA256:",
      "SHA256:abc",
      FP_A + "A",
      FP_A.slice(0, -1) + "B", // last char must carry 2 zero bits
      "MD5:" + FP_A.slice(7),
      "SHA256:" + "!".repeat(43),
    ]
  ) {
    assert.throws(() => normaliseFingerprint(bad), SyntaxError, bad);
  }
});
