import assert from "node:assert/strict";
import { join } from "node:path";
import { FtsError } from "../../../protocol/errors.ts";
import { QuotaStorage } from "../../../server/storage/quota.ts";
import {
  OwnerJournal,
  readOwners,
} from "../../../server/storage/owner_journal.ts";
import { MemoryStorage } from "../../../server/storage/memory/memory_storage.ts";
import { LocalStorage } from "../../../server/storage/local/local_storage.ts";
import type { Storage, Upload } from "../../../server/storage/storage.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

const MiB = 1024 * 1024;

/** Stores `size` bytes as `name` through `storage`. */
async function store(
  storage: Storage,
  name: string,
  size: number,
  options: { owner?: string | null; overwrite?: boolean } = {},
): Promise<string> {
  await using up = await storage.beginUpload(name, size, {
    owner: options.owner ?? null,
  });
  if (size > 0) await up.write(new Uint8Array(size));
  return await up.commit({ overwrite: options.overwrite ?? false });
}

/** The FtsError code `promise` rejects with. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FtsError, String(error));
    return error.code;
  }
  assert.fail("expected a refusal");
}

Deno.test("QuotaStorage refuses an upload beyond the server's quota at once, naming the quota, the usage and the size", async () => {
  await using storage = await QuotaStorage.open(new MemoryStorage(), {
    limit: 10 * MiB,
    ownsInner: true,
  });
  await store(storage, "a.bin", 9 * MiB + 600 * 1024);
  const refusal = await storage.beginUpload("x.iso", 700 * 1024).then(
    () => null,
    (error: unknown) => error,
  );
  assert.ok(refusal instanceof FtsError);
  assert.equal(refusal.code, "quota_exceeded");
  assert.equal(
    refusal.message,
    'Cannot upload "x.iso": the server\'s quota of 10.0 MiB exceeded (9.59 MiB used, 700 KiB requested)',
  );
  // What still fits is accepted.
  await store(storage, "y.bin", 424 * 1024);
  assert.deepEqual(storage.report(null).server, {
    used: 10 * MiB,
    reserved: 0,
    limit: 10 * MiB,
  });
});

for (const racers of [2, 8]) {
  Deno.test(`QuotaStorage lets exactly the uploads that fit win when ${racers} race for the last free space`, async () => {
    await using storage = await QuotaStorage.open(new MemoryStorage(), {
      limit: 10 * MiB,
      ownsInner: true,
    });
    await store(storage, "base.bin", 7 * MiB);
    // Room for one 2 MiB upload (racers ≥ 2 of them ask at once).
    const begun = await Promise.allSettled(
      Array.from(
        { length: racers },
        (_, i) => storage.beginUpload(`r${i}.bin`, 2 * MiB),
      ),
    );
    const winners = begun.filter((r) => r.status === "fulfilled");
    const losers = begun.filter((r) => r.status === "rejected");
    assert.equal(winners.length, 1);
    assert.equal(losers.length, racers - 1);
    for (const loser of losers) {
      assert.equal((loser.reason as FtsError).code, "quota_exceeded");
    }
    const upload = (winners[0] as PromiseFulfilledResult<Upload>).value;
    await upload.write(new Uint8Array(2 * MiB));
    await upload.commit({ overwrite: false });
    const stored = [...storage.files()].reduce((n, f) => n + f.size, 0);
    assert.equal(stored, 9 * MiB);
    assert.ok(stored <= 10 * MiB);
  });
}

Deno.test("QuotaStorage releases a reservation when the upload is aborted, fails or is disposed", async () => {
  await using storage = await QuotaStorage.open(new MemoryStorage(), {
    limit: 4 * MiB,
    ownsInner: true,
  });
  const aborted = await storage.beginUpload("a.bin", 3 * MiB);
  assert.equal(storage.report(null).server.reserved, 3 * MiB);
  assert.equal(
    await codeOf(storage.beginUpload("b.bin", 2 * MiB)),
    "quota_exceeded",
  );
  await aborted.abort();
  assert.equal(storage.report(null).server.reserved, 0);
  {
    await using _disposed = await storage.beginUpload("b.bin", 3 * MiB);
  }
  const short = await storage.beginUpload("c.bin", 3 * MiB);
  await short.write(new Uint8Array(10));
  assert.equal(await codeOf(short.commit({ overwrite: false })), "bad_request");
  // Each reservation ended: the whole quota is free again.
  await store(storage, "d.bin", 4 * MiB);
  assert.equal(storage.report(null).server.used, 4 * MiB);
});

Deno.test("QuotaStorage counts an overwrite as the difference once committed", async () => {
  for (const inner of [new MemoryStorage(), null]) {
    await using root = await tempDir();
    const backend = inner ?? await LocalStorage.open(root.path);
    await using storage = await QuotaStorage.open(backend, {
      limit: 10 * MiB,
      ownsInner: true,
    });
    await store(storage, "a.bin", 6 * MiB, { owner: "ann" });
    // While it runs, the new file is reserved in full beside the old one.
    assert.equal(
      await codeOf(storage.beginUpload("a.bin", 5 * MiB)),
      "quota_exceeded",
    );
    await store(storage, "a.bin", 4 * MiB, { owner: "ann", overwrite: true });
    const { server, account } = storage.report("ann");
    assert.equal(server.used, 4 * MiB);
    assert.equal(account?.used, 4 * MiB);
    await store(storage, "a.bin", 6 * MiB, { owner: "ann", overwrite: true });
    assert.equal(storage.report("ann").server.used, 6 * MiB);
    assert.equal(storage.report("ann").account?.used, 6 * MiB);
  }
});

Deno.test("QuotaStorage keeps each account's quota apart from the others'", async () => {
  const limits: Record<string, number> = { ann: 3 * MiB, bob: 5 * MiB };
  await using storage = await QuotaStorage.open(new MemoryStorage(), {
    accountLimit: (name) => limits[name],
    ownsInner: true,
  });
  await store(storage, "ann1.bin", 2 * MiB, { owner: "ann" });
  const refusal = await storage.beginUpload("ann2.bin", 2 * MiB, {
    owner: "ann",
  }).then(() => null, (error: unknown) => error);
  assert.ok(refusal instanceof FtsError);
  assert.equal(refusal.code, "quota_exceeded");
  assert.equal(
    refusal.message,
    'Cannot upload "ann2.bin": quota of 3.00 MiB exceeded (2.00 MiB used, 2.00 MiB requested)',
  );
  // Bob's quota is his own; anonymous uploads count for no account.
  await store(storage, "bob1.bin", 4 * MiB, { owner: "bob" });
  await store(storage, "anon.bin", 8 * MiB);
  assert.deepEqual(storage.report("bob").account, {
    name: "bob",
    used: 4 * MiB,
    reserved: 0,
    limit: 5 * MiB,
  });
  assert.equal(storage.report("ann").account?.used, 2 * MiB);
  // A file follows its owner through a rename, and frees the quota when removed.
  await storage.mkdir("docs");
  await storage.rename("ann1.bin", "docs/ann1.bin", { overwrite: false });
  assert.equal(storage.report("ann").account?.used, 2 * MiB);
  await storage.remove("docs/ann1.bin");
  assert.equal(storage.report("ann").account?.used, 0);
  await store(storage, "ann2.bin", 3 * MiB, { owner: "ann" });
  assert.equal(storage.report(null).server.used, 15 * MiB);
});

Deno.test("QuotaStorage measures usage again at start, counting files changed behind the server's back", async () => {
  await using root = await tempDir();
  const state = join(root.path, "state");
  Deno.mkdirSync(state);
  const data = join(root.path, "data");
  const open = async () => {
    const storage = await QuotaStorage.open(await LocalStorage.open(data), {
      owners: readOwners(state),
      accountLimit: () => 10 * MiB,
      ownsInner: true,
    });
    storage.keepOwners(await OwnerJournal.open(state, storage.owners()));
    return storage;
  };
  {
    await using storage = await open();
    await store(storage, "a.bin", 2 * MiB, { owner: "ann" });
    await store(storage, "b.bin", 1 * MiB, { owner: "ann" });
    await storage.mkdir("d");
    await storage.rename("b.bin", "d/b.bin", { overwrite: false });
    await storage.rename("d", "e", { overwrite: false });
    await store(storage, "c.bin", 1 * MiB, { owner: "bob" });
  }
  // Behind the server's back: one file grows, one vanishes, one appears.
  Deno.writeFileSync(join(data, "a.bin"), new Uint8Array(3 * MiB));
  Deno.removeSync(join(data, "c.bin"));
  Deno.writeFileSync(join(data, "new.bin"), new Uint8Array(MiB / 2));
  await using storage = await open();
  assert.equal(storage.report("ann").account?.used, 4 * MiB);
  assert.equal(storage.report("bob").account?.used, 0);
  assert.equal(storage.report(null).server.used, 4 * MiB + MiB / 2);
  assert.deepEqual(
    [...readOwners(state)].sort(),
    [["a.bin", "ann"], ["e/b.bin", "ann"]],
  );
});

Deno.test("QuotaStorage refuses with no_space an upload that would leave less than minFree on the disk", async () => {
  let free = 10 * MiB;
  await using storage = await QuotaStorage.open(new MemoryStorage(), {
    minFree: 4 * MiB,
    freeSpace: () => free,
    ownsInner: true,
  });
  const first = await storage.beginUpload("a.bin", 5 * MiB);
  // 10 free, 5 of them promised to the upload in flight: 1 more leaves 4.
  const refusal = await storage.beginUpload("b.bin", 2 * MiB).then(
    () => null,
    (error: unknown) => error,
  );
  assert.ok(refusal instanceof FtsError);
  assert.equal(refusal.code, "no_space");
  assert.equal(
    refusal.message,
    'Cannot upload "b.bin": it would leave less than the 4.00 MiB the server keeps free (5.00 MiB free, 2.00 MiB requested)',
  );
  await (await storage.beginUpload("c.bin", MiB)).abort();
  await first.abort();
  free = 5 * MiB;
  assert.equal(await codeOf(storage.beginUpload("d.bin", 2 * MiB)), "no_space");
  assert.deepEqual(storage.report(null).server, {
    used: 0,
    reserved: 0,
    free: 5 * MiB,
    minFree: 4 * MiB,
  });
});
