import assert from "node:assert/strict";
import { join } from "node:path";
import { FtsError } from "../../../protocol/errors.ts";
import {
  AgeIdentity,
  formatIdentityFile,
  parseIdentityFile,
  validateRecipient,
} from "../../../client/vault/age_keys.ts";
import {
  generateIdentity,
  identityPath,
  loadIdentities,
} from "../../../client/vault/identity.ts";
import { VaultError } from "../../../client/vault/vault_error.ts";

function env(
  vars: Record<string, string>,
): (name: string) => string | undefined {
  return (name) => vars[name];
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fts_vault_identity_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("identityPath() is identity.txt in the config folder", () => {
  assert.equal(
    identityPath(env({ HOME: "/home/u" })),
    "/home/u/.config/fts/identity.txt",
  );
});

Deno.test("generateIdentity() writes an age-keygen style file, mode 0600 in a 0700 folder", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "new", "fts", "identity.txt");
    const identity = await generateIdentity(path, {
      now: () => new Date("2025-01-02T03:04:05.678Z"),
    });
    const text = await Deno.readTextFile(path);
    assert.equal(
      text,
      `# created: 2025-01-02T03:04:05Z\n# public key: ${identity.recipient}\n${identity.exportSecret()}\n`,
    );
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(
      (await Deno.stat(join(dir, "new", "fts"))).mode! & 0o777,
      0o700,
    );
    const [loaded] = await loadIdentities(path);
    assert.equal(loaded?.recipient, identity.recipient);
    assert.deepEqual(
      [...Deno.readDirSync(join(dir, "new", "fts"))].map((e) => e.name),
      [
        "identity.txt",
      ],
    );
  });
});

Deno.test("generateIdentity() refuses to replace an identity unless forced", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "identity.txt");
    const first = await generateIdentity(path);
    await assert.rejects(
      generateIdentity(path),
      (error: unknown) => error instanceof FtsError && error.code === "exists",
    );
    assert.equal((await loadIdentities(path))[0]?.recipient, first.recipient);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [
      "identity.txt",
    ]);
    const second = await generateIdentity(path, { force: true });
    assert.notEqual(second.recipient, first.recipient);
    assert.equal((await loadIdentities(path))[0]?.recipient, second.recipient);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  });
});

Deno.test("loadIdentities() reports a missing file as not_found", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      loadIdentities(join(dir, "none.txt")),
      (error: unknown) =>
        error instanceof FtsError && error.code === "not_found",
    );
  });
});

Deno.test("loadIdentities() words an unreadable identity file in a few words, not the system's text", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(loadIdentities(dir), (error: unknown) => {
      assert.ok(error instanceof FtsError);
      assert.equal(error.code, "io");
      assert.equal(
        error.message,
        `Cannot read identity ${JSON.stringify(dir)}: it is a folder`,
      );
      return true;
    });
  });
});

Deno.test("parseIdentityFile() names a bad line without showing it", async () => {
  const identity = await AgeIdentity.generate();
  const secret = identity.exportSecret();
  const broken = secret.slice(0, -1) + (secret.endsWith("Q") ? "P" : "Q");
  const text = `# comment\n\n${secret}\n${broken}\n`;
  await assert.rejects(parseIdentityFile(text), (error: unknown) => {
    assert.ok(error instanceof VaultError);
    assert.equal(error.reason, "invalid_key");
    assert.match(error.message, /line 4/);
    for (let e: unknown = error; e instanceof Error; e = e.cause) {
      assert.ok(
        !e.message.includes(broken.slice(16)),
        `secret in "${e.message}"`,
      );
    }
    return true;
  });
  await assert.rejects(parseIdentityFile("# nothing\n"), VaultError);
  const two = await AgeIdentity.generate();
  const both = await parseIdentityFile(
    formatIdentityFile(identity, new Date()) + two.exportSecret(),
  );
  assert.deepEqual(both.map((i) => i.recipient), [
    identity.recipient,
    two.recipient,
  ]);
});

Deno.test("AgeIdentity prints, inspects and serialises as its public key only", async () => {
  const identity = await AgeIdentity.generate();
  const secret = identity.exportSecret();
  assert.match(secret, /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
  for (
    const shown of [
      String(identity),
      JSON.stringify(identity),
      Deno.inspect(identity),
      Deno.inspect({ identity }),
    ]
  ) {
    assert.ok(!shown.includes(secret.slice(16)), shown);
    assert.ok(shown.includes(identity.recipient), shown);
  }
});

Deno.test("validateRecipient() accepts age1 keys and refuses others", async () => {
  const identity = await AgeIdentity.generate();
  assert.equal(
    validateRecipient(` ${identity.recipient}\n`),
    identity.recipient,
  );
  for (
    const bad of [
      "",
      "age1",
      "ssh-ed25519 AAAA",
      identity.recipient.slice(0, -2),
    ]
  ) {
    assert.throws(() => validateRecipient(bad), VaultError, bad);
  }
});
