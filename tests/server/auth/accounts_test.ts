import assert from "node:assert/strict";
import { join } from "node:path";
import { FtsError } from "../../../protocol/errors.ts";
import {
  type Accounts,
  loadAccounts,
  USERS_FILE,
} from "../../../server/auth/accounts.ts";
import {
  type PasswordHasher,
  ScryptHasher,
} from "../../../server/auth/password_hash.ts";
import { openOwnFolder } from "../../../server/storage/local/rooted_paths.ts";

/** Low cost so tests stay quick; the format and checks are the same. */
const FAST = { logN: 10, r: 8, p: 1 } as const;
const POSIX = Deno.build.os !== "windows";

/** A hasher that records which stored hash each verify() was checked against. */
class SpyHasher implements PasswordHasher {
  readonly inner = new ScryptHasher({ params: FAST });
  readonly verified: string[] = [];
  hash(password: string): Promise<string> {
    return this.inner.hash(password);
  }
  verify(password: string, stored: string): Promise<boolean> {
    this.verified.push(stored);
    return this.inner.verify(password, stored);
  }
  dummy(): string {
    return this.inner.dummy();
  }
}

async function withState(
  fn: (stateDir: string, accounts: Accounts, spy: SpyHasher) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "fts_accounts_" });
  try {
    const stateDir = join(root, ".fts");
    const spy = new SpyHasher();
    await fn(stateDir, await loadAccounts(stateDir, { hasher: spy }), spy);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function storedHash(stateDir: string, name: string): Promise<string> {
  const data = JSON.parse(await Deno.readTextFile(join(stateDir, USERS_FILE)));
  return data.users[name].hash;
}

Deno.test("ScryptHasher.hash() writes scrypt$logN$r$p$salt$key with a fresh 16-byte salt", async () => {
  const hasher = new ScryptHasher({ params: FAST });
  const a = await hasher.hash("correct horse");
  const b = await hasher.hash("correct horse");
  const parts = a.split("$");
  assert.equal(parts.length, 6);
  assert.deepEqual(parts.slice(0, 4), ["scrypt", "10", "8", "1"]);
  assert.equal(atob(parts[4]!).length, 16);
  assert.equal(atob(parts[5]!).length, 32);
  assert.notEqual(a, b, "two hashes of one password differ by salt");
  assert.ok(!a.includes("correct horse"));
});

Deno.test("ScryptHasher.verify() accepts the right password and refuses wrong ones", async () => {
  const hasher = new ScryptHasher({ params: FAST });
  const stored = await hasher.hash("correct horse");
  assert.equal(await hasher.verify("correct horse", stored), true);
  assert.equal(await hasher.verify("correct hors", stored), false);
  assert.equal(await hasher.verify("correct horse ", stored), false);
  assert.equal(await hasher.verify("", stored), false);
});

Deno.test("ScryptHasher treats the NFC and NFD spellings of a password alike", async () => {
  const hasher = new ScryptHasher({ params: FAST });
  const stored = await hasher.hash("caf\u00e9");
  assert.equal(await hasher.verify("cafe\u0301", stored), true);
});

Deno.test("ScryptHasher default cost is N=2^15, r=8, p=1 and works within maxmem", async () => {
  const hasher = new ScryptHasher();
  const stored = await hasher.hash("pw");
  assert.match(stored, /^scrypt\$15\$8\$1\$/);
  assert.equal(await hasher.verify("pw", stored), true);
  assert.equal(hasher.needsRehash(stored), false);
  assert.equal(new ScryptHasher({ params: FAST }).needsRehash(stored), true);
});

Deno.test("ScryptHasher.hash() refuses empty and over-long passwords", async () => {
  const hasher = new ScryptHasher({ params: FAST });
  await assert.rejects(hasher.hash(""), RangeError);
  await assert.rejects(hasher.hash("x".repeat(1025)), RangeError);
  await hasher.hash("x".repeat(1024));
});

Deno.test("ScryptHasher.verify() refuses a malformed or too costly hash without quoting it", async () => {
  const hasher = new ScryptHasher({ params: FAST });
  const good = await hasher.hash("pw");
  const salt = good.split("$")[4]!;
  for (
    const bad of [
      "plain-secret-text",
      good.replace("scrypt$", "bcrypt$"),
      good.replace("$10$", "$30$"),
      `scrypt$10$8$1$${salt}`,
    ]
  ) {
    await assert.rejects(hasher.verify("pw", bad), (error: unknown) => {
      assert.ok(error instanceof RangeError);
      assert.ok(!error.message.includes(salt));
      assert.ok(!error.message.includes("plain-secret-text"));
      return true;
    });
  }
});

Deno.test("ScryptHasher.dummy() has the current cost and matches no password", async () => {
  const hasher = new ScryptHasher({ params: FAST });
  assert.match(hasher.dummy(), /^scrypt\$10\$8\$1\$/);
  assert.equal(hasher.dummy(), hasher.dummy());
  assert.equal(await hasher.verify("", hasher.dummy()), false);
  assert.equal(await hasher.verify("password", hasher.dummy()), false);
});

Deno.test("ScryptHasher with maxConcurrent 1 still completes parallel hashes", async () => {
  const hasher = new ScryptHasher({ params: FAST, maxConcurrent: 1 });
  const hashes = await Promise.all(["a", "b", "c"].map((p) => hasher.hash(p)));
  const checks = await Promise.all(
    hashes.map((h, i) => hasher.verify(["a", "b", "c"][i]!, h)),
  );
  assert.deepEqual(checks, [true, true, true]);
});

Deno.test("loadAccounts() of a missing state folder has no users and creates nothing", async () => {
  await withState(async (stateDir, accounts) => {
    assert.equal(accounts.hasUsers, false);
    assert.deepEqual(accounts.list(), []);
    await assert.rejects(Deno.stat(stateDir), Deno.errors.NotFound);
  });
});

Deno.test(
  "Accounts.add() creates users.json mode 0600 in a state folder mode 0700",
  {
    ignore: !POSIX,
  },
  async () => {
    await withState(async (stateDir, accounts) => {
      await accounts.add("alice", "pw-alice", ["read"]);
      assert.equal((await Deno.stat(stateDir)).mode! & 0o777, 0o700);
      const file = await Deno.stat(join(stateDir, USERS_FILE));
      assert.equal(file.mode! & 0o777, 0o600);
    });
  },
);

Deno.test("Accounts.add() leaves the mode of a new data root to the umask", {
  ignore: !POSIX,
}, async () => {
  const base = await Deno.makeTempDir({ prefix: "fts_accounts_" });
  try {
    const root = join(base, "dados");
    const accounts = await loadAccounts(join(root, ".fts"), {
      hasher: new ScryptHasher({ params: FAST }),
    });
    await accounts.add("alice", "pw-alice", ["read"]);
    const umask = Deno.umask();
    assert.equal((await Deno.stat(root)).mode! & 0o777, 0o777 & ~umask);
    assert.equal((await Deno.stat(join(root, ".fts"))).mode! & 0o777, 0o700);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("Accounts.add() tightens an existing state folder to 0700", {
  ignore: !POSIX,
}, async () => {
  await withState(async (stateDir, accounts) => {
    await Deno.mkdir(stateDir, { mode: 0o755 });
    await Deno.chmod(stateDir, 0o755);
    await accounts.add("alice", "pw-alice", ["read"]);
    assert.equal((await Deno.stat(stateDir)).mode! & 0o777, 0o700);
  });
});

Deno.test("Accounts.add() stores a hash, never the password, and leaves no temporary file", async () => {
  await withState(async (stateDir, accounts) => {
    await accounts.add("alice", "s3cret-alice-pw", ["read", "write"]);
    const text = await Deno.readTextFile(join(stateDir, USERS_FILE));
    assert.ok(!text.includes("s3cret-alice-pw"));
    assert.match(await storedHash(stateDir, "alice"), /^scrypt\$10\$8\$1\$/);
    const names = [];
    for await (const entry of Deno.readDir(stateDir)) names.push(entry.name);
    assert.deepEqual(names, [USERS_FILE]);
  });
});

Deno.test("Accounts.verify() returns the permissions for the right password, null for a wrong one", async () => {
  await withState(async (_stateDir, accounts) => {
    await accounts.add("alice", "pw-alice", ["write", "read"]);
    assert.deepEqual(await accounts.verify("alice", "pw-alice"), [
      "read",
      "write",
    ]);
    assert.equal(await accounts.verify("alice", "pw-bob"), null);
    assert.equal(await accounts.verify("alice", ""), null);
  });
});

Deno.test("Accounts.verify() checks an unknown user against the dummy hash", async () => {
  await withState(async (stateDir, accounts, spy) => {
    await accounts.add("alice", "pw-alice", ["read"]);
    const aliceHash = await storedHash(stateDir, "alice");
    assert.equal(await accounts.verify("mallory", "pw-alice"), null);
    assert.equal(await accounts.verify("alice", "wrong"), null);
    assert.deepEqual(spy.verified, [spy.dummy(), aliceHash]);
    assert.notEqual(spy.dummy(), aliceHash);
  });
});

Deno.test("Accounts.verify() checks invalid names and over-long passwords against the dummy hash", async () => {
  await withState(async (_stateDir, accounts, spy) => {
    await accounts.add("alice", "pw-alice", ["read"]);
    assert.equal(await accounts.verify("Alice", "pw-alice"), null);
    assert.equal(await accounts.verify("../x", "pw-alice"), null);
    assert.equal(await accounts.verify("alice", "x".repeat(5000)), null);
    assert.deepEqual(spy.verified, [spy.dummy(), spy.dummy(), spy.dummy()]);
  });
});

Deno.test("Accounts.add() refuses a duplicate user and an invalid name", async () => {
  await withState(async (_stateDir, accounts) => {
    await accounts.add("alice", "pw-alice", ["read"]);
    await assert.rejects(
      accounts.add("alice", "pw-other", ["read"]),
      (error: unknown) => {
        assert.ok(error instanceof FtsError);
        assert.equal(error.code, "exists");
        assert.equal(
          error.message,
          'Cannot add user "alice": the user already exists',
        );
        return true;
      },
    );
    for (const name of ["", "Bob", "1abc", "a b", "a/b", "x".repeat(33)]) {
      await assert.rejects(accounts.add(name, "pw", ["read"]), RangeError);
    }
    assert.deepEqual(accounts.list().map((u) => u.name), ["alice"]);
  });
});

Deno.test("Accounts.remove() deletes a user and refuses an unknown one", async () => {
  await withState(async (stateDir, accounts) => {
    await accounts.add("alice", "pw-alice", ["read"]);
    await accounts.add("bob", "pw-bob", ["read"]);
    await accounts.remove("alice");
    assert.deepEqual(accounts.list().map((u) => u.name), ["bob"]);
    assert.equal(await accounts.verify("alice", "pw-alice"), null);
    const again = await loadAccounts(stateDir);
    assert.deepEqual(again.list().map((u) => u.name), ["bob"]);
    await assert.rejects(accounts.remove("alice"), { name: "FtsError" });
  });
});

Deno.test("Accounts.setPassword() replaces the password", async () => {
  await withState(async (_stateDir, accounts) => {
    await accounts.add("alice", "old-pw", ["read"]);
    await accounts.setPassword("alice", "new-pw");
    assert.equal(await accounts.verify("alice", "old-pw"), null);
    assert.deepEqual(await accounts.verify("alice", "new-pw"), ["read"]);
    await assert.rejects(
      accounts.setPassword("nobody", "pw"),
      (e: unknown) => e instanceof FtsError && e.code === "not_found",
    );
  });
});

Deno.test("Accounts.setPermissions() replaces the permissions", async () => {
  await withState(async (_stateDir, accounts) => {
    await accounts.add("alice", "pw", ["read"]);
    await accounts.setPermissions("alice", ["admin", "read"]);
    assert.deepEqual(accounts.get("alice")?.perms, ["read", "admin"]);
    assert.deepEqual(await accounts.verify("alice", "pw"), ["read", "admin"]);
  });
});

Deno.test("Accounts.list() shows names and permissions, never hashes", async () => {
  await withState(async (_stateDir, accounts) => {
    await accounts.add("bob", "pw-bob", ["read"]);
    await accounts.add("alice", "pw-alice", ["read", "delete"]);
    const list = accounts.list();
    assert.deepEqual(list, [
      { name: "alice", perms: ["read", "delete"] },
      { name: "bob", perms: ["read"] },
    ]);
    assert.ok(!JSON.stringify(list).includes("scrypt"));
  });
});

Deno.test("Accounts.verify() sees users added and removed by another process", async () => {
  await withState(async (stateDir, server) => {
    assert.equal(server.hasUsers, false);
    const cli = await loadAccounts(stateDir, {
      hasher: new ScryptHasher({ params: FAST }),
    });
    await cli.add("alice", "pw-alice", ["read"]);
    assert.deepEqual(await server.verify("alice", "pw-alice"), ["read"]);
    assert.equal(server.hasUsers, true);
    await cli.remove("alice");
    assert.equal(await server.verify("alice", "pw-alice"), null);
  });
});

Deno.test("loadAccounts() refuses a corrupt file without quoting its contents", async () => {
  await withState(async (stateDir) => {
    await Deno.mkdir(stateDir, { recursive: true });
    const secret = "scrypt$15$8$1$c2VjcmV0c2FsdA==$c2VjcmV0aGFzaA==";
    const path = join(stateDir, USERS_FILE);
    for (
      const text of [
        `{"users": {"alice": {"hash": "${secret}" `,
        JSON.stringify({ version: 1, users: { alice: { hash: secret } } }),
        JSON.stringify({ version: 2, users: {} }),
      ]
    ) {
      await Deno.writeTextFile(path, text);
      await assert.rejects(loadAccounts(stateDir), (error: unknown) => {
        assert.ok(error instanceof FtsError);
        assert.equal(error.code, "io");
        assert.match(error.message, /^Cannot read users from /);
        const everything = `${error.message} ${error.stack} ${
          String(error.cause)
        }`;
        assert.ok(!everything.includes("c2VjcmV0"), error.message);
        return true;
      });
    }
  });
});

Deno.test("Accounts read through a held state folder never read a folder swapped in for it", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_accounts_" });
  try {
    const stateDir = join(root, ".fts");
    const hasher = new ScryptHasher({ params: FAST });
    const setup = await loadAccounts(stateDir, { hasher });
    await setup.add("ana", "ana password 1", ["read"]);
    using held = openOwnFolder(stateDir);
    const accounts = await loadAccounts(stateDir, {
      hasher,
      through: held.path,
    });
    assert.deepEqual(accounts.list().map((u) => u.name), ["ana"]);
    // A local user moves the real folder aside and puts their own in place.
    await Deno.rename(stateDir, join(root, "moved"));
    const fake = await loadAccounts(stateDir, { hasher });
    await fake.add("mallory", "mallory password", ["read", "write", "admin"]);
    accounts.refreshSync();
    await accounts.refresh();
    assert.deepEqual(accounts.list().map((u) => u.name), ["ana"]);
    assert.equal(accounts.path, join(stateDir, USERS_FILE));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
