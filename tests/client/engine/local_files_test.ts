import assert from "node:assert/strict";
import { join } from "node:path";
import { FtsError } from "../../../protocol/errors.ts";
import {
  BackgroundWriter,
  commitFile,
  createTempFile,
  LocalFolders,
  type LocalTarget,
  openStreamTarget,
  reclaimPartFiles,
} from "../../../client/engine/local_files.ts";

/** Where `name` lands under `dir`, resolved as a fresh batch does. */
function localTarget(dir: string, name: string): LocalTarget {
  const { dir: folder, base } = new LocalFolders(dir, new Set()).target(name);
  return { dir: folder, base };
}

async function withDir(run: (dir: string) => Promise<void>) {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("commitFile() never replaces an existing file without overwrite", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "a.txt"), "old");
    await Deno.writeTextFile(join(dir, "(1) a.txt"), "older");
    for (const expected of ["(2) a.txt", "(3) a.txt"]) {
      const temp = createTempFile(dir);
      temp.file.close();
      await Deno.writeTextFile(temp.path, "new");
      const path = commitFile(temp.path, { dir, base: "a.txt" }, {
        overwrite: false,
      });
      assert.equal(path, join(dir, expected));
    }
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "old");
    assert.equal(await Deno.readTextFile(join(dir, "(1) a.txt")), "older");
    const temp = createTempFile(dir);
    temp.file.close();
    await Deno.writeTextFile(temp.path, "newest");
    commitFile(temp.path, { dir, base: "a.txt" }, { overwrite: true });
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "newest");
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["(1) a.txt", "(2) a.txt", "(3) a.txt", "a.txt"],
    );
  });
});

Deno.test("commitFile() does not replace a folder even with overwrite", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(join(dir, "d"));
    const temp = createTempFile(dir);
    temp.file.close();
    assert.throws(
      () => commitFile(temp.path, { dir, base: "d" }, { overwrite: true }),
      /a local folder has that name/,
    );
  });
});

Deno.test("commitFile() with overwrite never renames over a FIFO that appeared meanwhile", async () => {
  await withDir(async (dir) => {
    const fifo = join(dir, "p");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(made.code, 0);
    const temp = createTempFile(dir);
    temp.file.close();
    assert.throws(
      () => commitFile(temp.path, { dir, base: "p" }, { overwrite: true }),
      (error: unknown) =>
        error instanceof Error && error.name === "ReasonError",
    );
    assert.ok(Deno.lstatSync(fifo).isFifo, "still the FIFO");
  });
});

Deno.test("openStreamTarget() refuses a regular file swapped in for the device", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "null");
    await Deno.writeTextFile(path, "keep me");
    await assert.rejects(
      openStreamTarget(path, "null"),
      (error: unknown) =>
        error instanceof Error && error.name === "ReasonError",
    );
    assert.equal(await Deno.readTextFile(path), "keep me");
  });
});

Deno.test("LocalFolders.target() creates parents inside and refuses a file as parent", async () => {
  await withDir(async (dir) => {
    assert.deepEqual(localTarget(dir, "a/b/c.txt"), {
      dir: join(dir, "a", "b"),
      base: "c.txt",
    });
    await Deno.writeTextFile(join(dir, "f"), "");
    assert.throws(
      () => localTarget(dir, "f/x.txt"),
      /the local "f" is not a folder/,
    );
  });
});

Deno.test("LocalFolders.target() follows a link only when it stays inside the folder", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(join(dir, "real"));
    await Deno.symlink(join(dir, "real"), join(dir, "inside"));
    assert.deepEqual(localTarget(dir, "inside/x"), {
      dir: join(dir, "real"),
      base: "x",
    });
    await Deno.symlink("/", join(dir, "root"));
    assert.throws(
      () => localTarget(dir, "root/etc/x"),
      /leads outside/,
    );
  });
});

Deno.test("LocalFolders.target() tells a link to the folder itself from one to a sibling with the same prefix or to the parent", async () => {
  await withDir(async (dir) => {
    const root = join(dir, "b");
    await Deno.mkdir(root);
    await Deno.mkdir(join(dir, "bc"));
    await Deno.symlink(root, join(root, "self"));
    await Deno.symlink(join(dir, "bc"), join(root, "sibling"));
    await Deno.symlink(dir, join(root, "parent"));
    assert.deepEqual(localTarget(root, "self/x"), {
      dir: root,
      base: "x",
    });
    for (const link of ["sibling", "parent"]) {
      assert.throws(
        () => localTarget(root, `${link}/x`),
        (error: unknown) =>
          error instanceof FtsError && error.code === "permission_denied",
        link,
      );
    }
  });
});

Deno.test("BackgroundWriter writes chunks in order and reports a failed write", async () => {
  await withDir(async (dir) => {
    const temp = createTempFile(dir);
    const writer = new BackgroundWriter(temp.file, 4);
    const chunk = new Uint8Array(4);
    for (let i = 0; i < 10; i++) {
      chunk.fill(i);
      await writer.write(chunk); // the caller may reuse its buffer at once
    }
    await writer.flush();
    temp.file.close();
    const bytes = await Deno.readFile(temp.path);
    assert.deepEqual([...bytes].filter((_, i) => i % 4 === 0), [
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
    ]);
    const readOnly = await Deno.open(temp.path, { read: true });
    const failing = new BackgroundWriter(readOnly, 4);
    await failing.write(chunk);
    await assert.rejects(failing.flush());
    readOnly.close();
  });
});

Deno.test("reclaimPartFiles() removes a left-over temporary file and nothing that is not one", async () => {
  await withDir(async (dir) => {
    const left = ".fts-0123456789abcdef.part";
    await Deno.writeTextFile(join(dir, left), "half a download");
    const others = [
      ".fts-notours.part",
      ".fts-0123456789ABCDEF.part",
      ".fts-0123456789abcdef.part.txt",
      "x.part",
      "notes.txt",
    ];
    for (const name of others) await Deno.writeTextFile(join(dir, name), "x");
    await Deno.mkdir(join(dir, ".fts-00000000000000aa.part"));
    const outside = await Deno.makeTempFile();
    try {
      await Deno.symlink(outside, join(dir, ".fts-00000000000000bb.part"));
      assert.deepEqual(reclaimPartFiles(dir), [left]);
      const kept = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert.deepEqual(
        kept,
        [
          ...others,
          ".fts-00000000000000aa.part",
          ".fts-00000000000000bb.part",
        ].sort(),
      );
      assert.ok((await Deno.stat(outside)).isFile, "a link's target is kept");
    } finally {
      await Deno.remove(outside);
    }
  });
});

Deno.test("reclaimPartFiles() keeps the temporary file of a download still running", async () => {
  await withDir(async (dir) => {
    const temp = createTempFile(dir);
    try {
      assert.deepEqual(reclaimPartFiles(dir), []);
      assert.ok((await Deno.stat(temp.path)).isFile);
    } finally {
      temp.file.close();
    }
    // Once its writer is gone, it is a left-over.
    assert.equal(reclaimPartFiles(dir).length, 1);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("reclaimPartFiles() keeps a temporary file another process holds", async () => {
  await withDir(async (dir) => {
    const path = join(dir, ".fts-1111111111111111.part");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const f = Deno.openSync(${
          JSON.stringify(path)
        }, { write: true, createNew: true });
         f.lockSync(true);
         console.log("locked");
         await Deno.stdin.read(new Uint8Array(1));`,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    try {
      assert.equal((await lines.read()).value?.trim(), "locked");
      assert.deepEqual(reclaimPartFiles(dir), []);
      assert.ok((await Deno.stat(path)).isFile);
    } finally {
      await child.stdin.close();
      await lines.cancel();
      await child.status;
    }
    assert.deepEqual(reclaimPartFiles(dir), [".fts-1111111111111111.part"]);
  });
});
