import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Encrypter, generateHybridIdentity, Stanza } from "age-encryption";
import { HeaderScanner } from "../../../client/vault/age_header.ts";
import { AgeIdentity } from "../../../client/vault/age_keys.ts";
import { X25519Identity } from "../../../client/vault/x25519_identity.ts";

/** The stanzas the library writes for `recipient`, with their file key. */
async function wrapped(
  recipient: string,
): Promise<{ stanzas: Stanza[]; fileKey: Uint8Array }> {
  let fileKey = new Uint8Array(0);
  const stanzas: Stanza[] = [];
  const encrypter = new Encrypter();
  encrypter.addRecipient({
    wrapFileKey(key: Uint8Array) {
      fileKey = key.slice();
      return [];
    },
  });
  encrypter.addRecipient(recipient);
  const file = await encrypter.encrypt(new Uint8Array(0));
  const text = new TextDecoder().decode(
    file.subarray(0, new HeaderScanner().scan(file)),
  );
  const match = /-> X25519 (\S+)\n(\S+)\n/.exec(text);
  assert.ok(match?.[1] && match[2], "no X25519 stanza in the library's header");
  stanzas.push(
    new Stanza(["X25519", match[1]], Buffer.from(match[2], "base64")),
  );
  return { stanzas, fileKey };
}

function share(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/=+$/, "");
}

Deno.test("X25519Identity unwraps the file key the library wrapped for its recipient", async () => {
  const me = await AgeIdentity.generate();
  const { stanzas, fileKey } = await wrapped(me.recipient);
  const identity = new X25519Identity(me.exportSecret());
  assert.deepEqual(identity.unwrapFileKey(stanzas), fileKey);
});

Deno.test("X25519Identity returns null for stanzas of other keys and types", async () => {
  const [me, other] = [
    await AgeIdentity.generate(),
    await AgeIdentity.generate(),
  ];
  const { stanzas } = await wrapped(other.recipient);
  const identity = new X25519Identity(me.exportSecret());
  assert.equal(identity.unwrapFileKey(stanzas), null);
  assert.equal(
    identity.unwrapFileKey([
      new Stanza(["scrypt", "x", "10"], new Uint8Array(32)),
    ]),
    null,
  );
});

Deno.test("X25519Identity throws for malformed X25519 stanzas", async () => {
  const me = await AgeIdentity.generate();
  const identity = new X25519Identity(me.exportSecret());
  const body = new Uint8Array(32);
  const bad = [
    new Stanza(["X25519"], body), // no share
    new Stanza(["X25519", share(new Uint8Array(32)), "extra"], body),
    new Stanza(["X25519", share(new Uint8Array(31).fill(9))], body), // short share
    new Stanza(["X25519", "!!!notbase64!!!"], body),
    new Stanza(
      ["X25519", share(new Uint8Array(32).fill(9))],
      new Uint8Array(31),
    ),
    new Stanza(["X25519", share(new Uint8Array(32))], body), // low-order point
  ];
  for (const stanza of bad) {
    assert.throws(
      () => identity.unwrapFileKey([stanza]),
      Error,
      stanza.args.join(" "),
    );
  }
});

Deno.test("X25519Identity refuses a key that is not X25519, without repeating it", async () => {
  const pq = await generateHybridIdentity();
  for (const secret of [pq, "AGE-SECRET-KEY-1QQQ", "hello"]) {
    assert.throws(
      () => new X25519Identity(secret),
      (error: unknown) =>
        error instanceof TypeError && !error.message.includes(secret),
    );
  }
});
