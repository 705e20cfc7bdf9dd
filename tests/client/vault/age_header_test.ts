import assert from "node:assert/strict";
import { assertBytes } from "../../_helpers/vault/data.ts";
import {
  AgeHeader,
  HeaderScanner,
  MAX_HEADER_SIZE,
  openHeader,
  sealHeader,
} from "../../../client/vault/age_header.ts";
import { AgeIdentity } from "../../../client/vault/age_keys.ts";
import { AgeEncryptor } from "../../../client/vault/encryptor.ts";
import { VaultError } from "../../../client/vault/vault_error.ts";

const encoder = new TextEncoder();

async function rejectsWith(
  promise: Promise<unknown>,
  reason: string,
  code: string,
): Promise<VaultError> {
  const error = await promise.then(() => null, (error: unknown) => error);
  assert.ok(error instanceof VaultError, `expected a VaultError, got ${error}`);
  assert.equal(error.reason, reason, error.message);
  assert.equal(error.code, code);
  return error;
}

function throwsWith(fn: () => unknown, reason: string): void {
  assert.throws(
    fn,
    (error: unknown) => error instanceof VaultError && error.reason === reason,
  );
}

Deno.test("sealHeader() writes an age v1 header that openHeader() opens with the identity", async () => {
  const me = await AgeIdentity.generate();
  const header = await sealHeader({ recipients: [me.recipient] });
  const text = new TextDecoder().decode(header.bytes);
  assert.match(
    text,
    /^age-encryption\.org\/v1\n-> X25519 [A-Za-z0-9+/]{43}\n[A-Za-z0-9+/]{43}\n--- [A-Za-z0-9+/]{43}\n$/,
  );
  assert.equal(new HeaderScanner().scan(header.bytes), header.size);
  const opened = await openHeader(header.bytes, { identities: [me] });
  const nonce = new Uint8Array(16).fill(7);
  assertBytes(
    opened.payloadKey(nonce).export(),
    header.payloadKey(nonce).export(),
  );
});

Deno.test("sealHeader() wraps the file key for every recipient", async () => {
  const [a, b] = [await AgeIdentity.generate(), await AgeIdentity.generate()];
  const header = await sealHeader({ recipients: [a.recipient, b.recipient] });
  const text = new TextDecoder().decode(header.bytes);
  assert.equal(text.match(/^-> X25519 /gm)?.length, 2);
  for (const identity of [a, b]) {
    await openHeader(header.bytes, { identities: [identity] });
  }
});

Deno.test("sealHeader() refuses no recipient, recipients with a passphrase, a bad recipient", async () => {
  const me = await AgeIdentity.generate();
  await assert.rejects(sealHeader({}), TypeError);
  await assert.rejects(sealHeader({ recipients: [] }), TypeError);
  await assert.rejects(
    sealHeader({ recipients: [me.recipient], passphrase: "pw" }),
    TypeError,
  );
  await assert.rejects(sealHeader({ passphrase: "" }), TypeError);
  await assert.rejects(
    sealHeader({ passphrase: "pw", scryptWorkFactor: 30 }),
    RangeError,
  );
  // One character changed (to "x", or to "y" where it was "x" already):
  // the bech32 checksum catches any single change.
  const last = me.recipient.endsWith("x") ? "y" : "x";
  const error = await rejectsWith(
    sealHeader({ recipients: [me.recipient.slice(0, -1) + last] }),
    "invalid_key",
    "bad_request",
  );
  assert.match(error.message, /Invalid recipient "age1/);
});

Deno.test("openHeader() refuses an identity the file is not encrypted to", async () => {
  const [me, other] = [
    await AgeIdentity.generate(),
    await AgeIdentity.generate(),
  ];
  const header = await sealHeader({ recipients: [me.recipient] });
  const error = await rejectsWith(
    openHeader(header.bytes, { identities: [other] }),
    "no_identity",
    "bad_request",
  );
  assert.ok(!error.message.includes(other.exportSecret()));
  await rejectsWith(openHeader(header.bytes, {}), "no_identity", "bad_request");
});

Deno.test("openHeader() refuses a header whose MAC was changed", async () => {
  const me = await AgeIdentity.generate();
  const header = await sealHeader({ recipients: [me.recipient] });
  const tampered = header.bytes.slice();
  const mac = tampered.length - 10; // a base64 digit of the MAC
  tampered[mac] = tampered[mac] === 0x41 ? 0x42 : 0x41;
  await rejectsWith(
    openHeader(tampered, { identities: [me] }),
    "header_mac",
    "checksum_mismatch",
  );
});

Deno.test("openHeader() refuses a header with a stanza added after sealing", async () => {
  const me = await AgeIdentity.generate();
  const header = await sealHeader({ recipients: [me.recipient] });
  const text = new TextDecoder().decode(header.bytes);
  const extra = text.replace("\n---", "\n-> grease-x y\nAAAA\n---");
  await rejectsWith(
    openHeader(encoder.encode(extra), { identities: [me] }),
    "header_mac",
    "checksum_mismatch",
  );
});

Deno.test("openHeader() refuses a malformed header", async () => {
  const me = await AgeIdentity.generate();
  const bad = encoder.encode("age-encryption.org/v1\n-> X25519\n--- AAAA\n");
  await rejectsWith(
    openHeader(bad, { identities: [me] }),
    "malformed_header",
    "bad_request",
  );
});

Deno.test("openHeader() asks for the passphrase only for a passphrase file", async () => {
  const me = await AgeIdentity.generate();
  let asked = 0;
  const passphrase = () => {
    asked++;
    return "correct horse";
  };
  const byKey = await sealHeader({ recipients: [me.recipient] });
  await openHeader(byKey.bytes, { identities: [me], passphrase });
  assert.equal(asked, 0);

  const byPassphrase = await sealHeader({
    passphrase: "correct horse",
    scryptWorkFactor: 10,
  });
  assert.match(new TextDecoder().decode(byPassphrase.bytes), /^-> scrypt /m);
  await openHeader(byPassphrase.bytes, { identities: [me], passphrase });
  assert.equal(asked, 1);
  const missing = await rejectsWith(
    openHeader(byPassphrase.bytes, { identities: [me] }),
    "no_identity",
    "bad_request",
  );
  assert.match(missing.message, /passphrase/);
  const wrong = await rejectsWith(
    openHeader(byPassphrase.bytes, { passphrase: () => "wrong horse" }),
    "no_identity",
    "bad_request",
  );
  assert.match(wrong.message, /wrong passphrase/);
  assert.ok(!wrong.message.includes("horse"));
});

Deno.test("AgeHeader encrypts one file only, and never an opened header", async () => {
  const me = await AgeIdentity.generate();
  const header = await sealHeader({ recipients: [me.recipient] });
  new AgeEncryptor(header);
  assert.throws(() => new AgeEncryptor(header), TypeError);
  const opened = await openHeader(header.bytes, { identities: [me] });
  assert.throws(() => new AgeEncryptor(opened), TypeError);
});

Deno.test("AgeHeader never shows its file key when printed", async () => {
  const me = await AgeIdentity.generate();
  const header = await sealHeader({ recipients: [me.recipient] });
  assert.equal(Deno.inspect(header), `AgeHeader(${header.size} bytes)`);
  assert.ok(header instanceof AgeHeader);
});

Deno.test("HeaderScanner.scan() finds the end however the bytes arrive", async () => {
  const me = await AgeIdentity.generate();
  const header = await sealHeader({ recipients: [me.recipient] });
  const file = new Uint8Array(header.size + 50);
  file.set(header.bytes);
  const scanner = new HeaderScanner();
  for (let length = 1; length <= file.length; length++) {
    const end = scanner.scan(file.subarray(0, length));
    assert.equal(
      end,
      length >= header.size ? header.size : -1,
      `length ${length}`,
    );
  }
});

Deno.test("HeaderScanner.scan() refuses what is not an age file", () => {
  throwsWith(
    () => new HeaderScanner().scan(encoder.encode("hello world\n")),
    "not_age",
  );
  throwsWith(
    () => new HeaderScanner().scan(encoder.encode("age-encryption.org/v2\n")),
    "not_age",
  );
  throwsWith(() => new HeaderScanner().scan(encoder.encode("x")), "not_age");
  throwsWith(
    () =>
      new HeaderScanner().scan(
        encoder.encode("-----BEGIN AGE ENCRYPTED FILE-----\n"),
      ),
    "unsupported",
  );
  assert.equal(new HeaderScanner().scan(encoder.encode("age-enc")), -1);
  assert.equal(new HeaderScanner().scan(new Uint8Array(0)), -1);
});

Deno.test("HeaderScanner.scan() refuses a header larger than MAX_HEADER_SIZE", () => {
  const line = encoder.encode("-> x " + "a".repeat(1000) + "\n");
  const huge = new Uint8Array(MAX_HEADER_SIZE + line.length + 22);
  huge.set(encoder.encode("age-encryption.org/v1\n"));
  for (let at = 22; at + line.length <= huge.length; at += line.length) {
    huge.set(line, at);
  }
  const scanner = new HeaderScanner();
  assert.equal(scanner.scan(huge.subarray(0, MAX_HEADER_SIZE)), -1);
  throwsWith(() => scanner.scan(huge), "malformed_header");
});

Deno.test("openHeader() tells failures apart by where the library stopped, not by its message, which can quote the file", async () => {
  const me = await AgeIdentity.generate();
  // The library's message quotes a bad version line word for word.
  for (const words of ["no identity matched", "HMAC"]) {
    const bad = encoder.encode(
      `age-encryption.org/v9 ${words}\n-> X25519 AAAA\nAAAA\n--- AAAA\n`,
    );
    await rejectsWith(
      openHeader(bad, { identities: [me] }),
      "malformed_header",
      "bad_request",
    );
  }
});
