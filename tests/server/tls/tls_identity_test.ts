import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { join } from "node:path";
import {
  CERT_FILE,
  KEY_FILE,
  listenTls,
  loadCustomIdentity,
  loadOrCreateIdentity,
} from "../../../server/tls/tls_identity.ts";
import { FTS_ALPN } from "../../../protocol/frame.ts";
import { createTestCa, privateKeyPem, x509 } from "../../_helpers/tls/ca.ts";

const DAY_MS = 86_400_000;

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "fts_tls_identity_" });
}

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

function spkiSha256(certPem: string): Buffer {
  const spki = new X509Certificate(certPem).publicKey.export({
    type: "spki",
    format: "der",
  });
  return createHash("sha256").update(spki).digest();
}

Deno.test("loadOrCreateIdentity() creates key and certificate 0600 in a 0700 folder", async () => {
  const dir = await tempDir();
  try {
    const state = join(dir, "dados", ".fts");
    const identity = await loadOrCreateIdentity(state);
    assert.equal(identity.created, true);
    assert.equal(mode(state), 0o700);
    assert.equal(mode(join(state, KEY_FILE)), 0o600);
    assert.equal(mode(join(state, CERT_FILE)), 0o600);
    const names = [...Deno.readDirSync(state)].map((e) => e.name).sort();
    assert.deepEqual(names, [CERT_FILE, KEY_FILE].sort()); // no temp files left
    assert.equal(
      await Deno.readTextFile(join(state, KEY_FILE)),
      identity.keyPem,
    );
    assert.match(identity.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateIdentity() loads the same identity on the next start", async () => {
  const dir = await tempDir();
  try {
    const first = await loadOrCreateIdentity(dir);
    const second = await loadOrCreateIdentity(dir);
    assert.equal(second.created, false);
    assert.equal(second.fingerprint, first.fingerprint);
    assert.equal(second.hostname, first.hostname);
    assert.equal(second.certPem, first.certPem);
    assert.equal(second.keyPem, first.keyPem);
    const other = await tempDir();
    try {
      const third = await loadOrCreateIdentity(other);
      assert.notEqual(third.fingerprint, first.fingerprint);
    } finally {
      await Deno.remove(other, { recursive: true });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateIdentity() makes a self-signed leaf named after its own key", async () => {
  const dir = await tempDir();
  try {
    const now = Date.UTC(2030, 0, 1);
    const identity = await loadOrCreateIdentity(dir, {
      clock: { now: () => now },
    });
    const cert = new X509Certificate(identity.certPem);
    const digest = spkiSha256(identity.certPem);
    assert.equal(
      identity.fingerprint,
      "SHA256:" + digest.toString("base64").replace(/=+$/, ""),
    );
    assert.match(identity.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(
      identity.hostname,
      `fts-${digest.toString("hex").slice(0, 16)}.invalid`,
    );
    assert.equal(cert.subjectAltName, `DNS:${identity.hostname}`);
    assert.equal(cert.ca, false);
    assert.equal(cert.issuer, cert.subject);
    assert.ok(cert.verify(cert.publicKey), "self-signed");
    const parsed = new x509.X509Certificate(identity.certPem);
    const basic = parsed.getExtension(x509.BasicConstraintsExtension);
    assert.equal(basic?.ca, false);
    assert.equal(basic?.critical, true);
    const usage = parsed.getExtension(x509.KeyUsagesExtension);
    assert.equal(usage?.usages, x509.KeyUsageFlags.digitalSignature);
    const extended = parsed.getExtension(x509.ExtendedKeyUsageExtension);
    assert.deepEqual([...extended?.usages ?? []], [
      x509.ExtendedKeyUsage.serverAuth,
    ]);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.ok(cert.validFromDate.getTime() <= now);
    assert.equal(identity.notAfter.getTime(), cert.validToDate.getTime());
    const years = (cert.validToDate.getTime() - now) / (365.25 * DAY_MS);
    assert.ok(years > 9.9 && years < 10.1, `validity ${years} years`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateIdentity() re-issues an expiring or missing certificate from the same key", async () => {
  const dir = await tempDir();
  try {
    const start = Date.UTC(2030, 0, 1);
    const first = await loadOrCreateIdentity(dir, {
      clock: { now: () => start },
      validityDays: 60,
    });
    const early = await loadOrCreateIdentity(dir, {
      clock: { now: () => start + 20 * DAY_MS },
    });
    assert.equal(early.certPem, first.certPem, "40 days left: kept");

    const late = await loadOrCreateIdentity(dir, {
      clock: { now: () => start + 40 * DAY_MS },
    });
    assert.notEqual(late.certPem, first.certPem, "20 days left: renewed");
    assert.equal(late.fingerprint, first.fingerprint);
    assert.equal(late.hostname, first.hostname);
    assert.equal(late.created, false);
    assert.ok(late.notAfter.getTime() > start + 3000 * DAY_MS);

    await Deno.remove(join(dir, CERT_FILE));
    const again = await loadOrCreateIdentity(dir);
    assert.equal(again.fingerprint, first.fingerprint);
    assert.equal(mode(join(dir, CERT_FILE)), 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateIdentity() replaces a certificate that belongs to another key", async () => {
  const dir = await tempDir();
  const other = await tempDir();
  try {
    const mine = await loadOrCreateIdentity(dir);
    const theirs = await loadOrCreateIdentity(other);
    await Deno.writeTextFile(join(dir, CERT_FILE), theirs.certPem);
    const loaded = await loadOrCreateIdentity(dir);
    assert.equal(loaded.fingerprint, mine.fingerprint);
    assert.notEqual(loaded.certPem, theirs.certPem);
    assert.equal(
      spkiSha256(loaded.certPem).equals(spkiSha256(mine.certPem)),
      true,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("loadOrCreateIdentity() tightens loose modes of the folder and the key", async () => {
  const dir = await tempDir();
  try {
    await loadOrCreateIdentity(dir);
    await Deno.chmod(dir, 0o755);
    await Deno.chmod(join(dir, KEY_FILE), 0o644);
    await loadOrCreateIdentity(dir);
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(dir, KEY_FILE)), 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateIdentity() refuses a stored key that is not ECDSA P-256", async () => {
  const dir = await tempDir();
  try {
    const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    await Deno.writeTextFile(
      join(dir, KEY_FILE),
      await privateKeyPem(keys.privateKey),
    );
    await assert.rejects(
      loadOrCreateIdentity(dir),
      /Cannot load the TLS key ".*tls_key\.pem": it is not an ECDSA P-256 key/,
    );
    await Deno.writeTextFile(join(dir, KEY_FILE), "garbage\n");
    await assert.rejects(loadOrCreateIdentity(dir), /not a valid private key/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCustomIdentity() loads a CA-issued certificate and refuses a foreign key", async () => {
  const dir = await tempDir();
  try {
    const ca = await createTestCa();
    const leaf = await ca.issue({ dns: ["files.example.org"] });
    const stranger = await ca.issue({ dns: ["other.example.org"] });
    await Deno.writeTextFile(join(dir, "cert.pem"), leaf.certPem + ca.certPem);
    await Deno.writeTextFile(join(dir, "key.pem"), leaf.keyPem);
    await Deno.writeTextFile(join(dir, "other.pem"), stranger.keyPem);

    const identity = await loadCustomIdentity(
      join(dir, "cert.pem"),
      join(dir, "key.pem"),
    );
    assert.equal(identity.hostname, null);
    assert.equal(identity.created, false);
    assert.equal(identity.certPem, leaf.certPem + ca.certPem);
    assert.equal(
      identity.fingerprint,
      "SHA256:" +
        spkiSha256(leaf.certPem).toString("base64").replace(/=+$/, ""),
    );
    await assert.rejects(
      loadCustomIdentity(join(dir, "cert.pem"), join(dir, "other.pem")),
      /Cannot use the certificate ".*cert\.pem": the key ".*other\.pem" does not belong to it/,
    );
    await assert.rejects(
      loadCustomIdentity(join(dir, "cert.pem"), join(dir, "missing.pem")),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCustomIdentity() refuses an expired certificate", async () => {
  const dir = await tempDir();
  try {
    const ca = await createTestCa();
    const notAfter = new Date(Date.now() + DAY_MS);
    const leaf = await ca.issue({ dns: ["files.example.org"] }, { notAfter });
    await Deno.writeTextFile(join(dir, "cert.pem"), leaf.certPem);
    await Deno.writeTextFile(join(dir, "key.pem"), leaf.keyPem);
    const later = { now: () => notAfter.getTime() + 1000 };
    await assert.rejects(
      loadCustomIdentity(join(dir, "cert.pem"), join(dir, "key.pem"), {
        clock: later,
      }),
      /Cannot use the certificate ".*cert\.pem": it expired on /,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listenTls() presents the identity and agrees on ALPN fts/1", async () => {
  const dir = await tempDir();
  try {
    const identity = await loadOrCreateIdentity(dir);
    using listener = listenTls(identity, { port: 0 });
    assert.equal(listener.addr.hostname, "127.0.0.1");
    const accepted = (async () => {
      using conn = await listener.accept();
      const info = await conn.handshake();
      const buffer = new Uint8Array(5);
      let got = 0;
      while (got < 5) got += (await conn.read(buffer.subarray(got)))!;
      await conn.write(buffer);
      return info.alpnProtocol;
    })();
    const tcp = await Deno.connect({
      hostname: "127.0.0.1",
      port: listener.addr.port,
    });
    using client = await Deno.startTls(tcp, {
      hostname: identity.hostname!,
      caCerts: [identity.certPem],
      alpnProtocols: [FTS_ALPN],
    });
    assert.equal((await client.handshake()).alpnProtocol, FTS_ALPN);
    await client.write(new TextEncoder().encode("hello"));
    const echo = new Uint8Array(5);
    let got = 0;
    while (got < 5) got += (await client.read(echo.subarray(got)))!;
    assert.equal(new TextDecoder().decode(echo), "hello");
    assert.equal(await accepted, FTS_ALPN);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
