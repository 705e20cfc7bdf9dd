/**
 * The shell's folder commands against a real server: `put -r` and `get -r`
 * with cp -r semantics, folders by number, `--exclude`, links reported as
 * skipped, `mkdir -p`, `rmdir`, `rm -r` (asked on a terminal, not in
 * scripts) and `ls -R` / `ls -l` totals.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { withShellWorld } from "../../_helpers/client/shell_world.ts";
import { runWords } from "../../../client/shell/commands.ts";
import { splitWords } from "../../../client/shell/command_parse.ts";

/** Every path under `dir` but the server's state folder, folders ending in "/". */
async function paths(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(dir, rel))) {
    const name = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (name === ".fts") continue;
    if (entry.isDirectory) out.push(`${name}/`, ...await paths(dir, name));
    else out.push(name);
  }
  return out.sort();
}

const TREE = {
  "photos/a.jpg": "a",
  "photos/2024/b.jpg": "bb",
  "photos/empty/": "",
  "photos/x.tmp": "t",
};

Deno.test("put -r copies a folder as cp -r does: a new name becomes the copy, an existing folder receives it", async () => {
  await withShellWorld(
    { local: TREE, remote: { "backup/": "" } },
    async (w) => {
      assert.equal(await w.run("put -r photos/"), "ok");
      assert.deepEqual(await paths(w.root, "photos"), [
        "photos/2024/",
        "photos/2024/b.jpg",
        "photos/a.jpg",
        "photos/empty/",
        "photos/x.tmp",
      ]);
      assert.equal(await w.run("put -r photos backup"), "ok");
      assert.ok(
        (await paths(w.root, "backup")).includes("backup/photos/a.jpg"),
      );
      assert.equal(
        await w.run("put -r --exclude *.tmp --exclude=2024 photos renamed"),
        "ok",
      );
      assert.deepEqual(await paths(w.root, "renamed"), [
        "renamed/a.jpg",
        "renamed/empty/",
      ]);
      assert.equal(
        await w.run("put -r photos nowhere/photos"),
        'failed: Cannot put "photos": no such folder "nowhere" on the server',
      );
      assert.match(w.out.text(), /Uploaded 3 files in 3 folders \(4 B\)/);
    },
  );
});

Deno.test("get -r copies a remote folder as cp -r does, and ls numbers pick folders", async () => {
  await withShellWorld({ remote: TREE, local: { "into/": "" } }, async (w) => {
    assert.equal(await w.run("get -r photos"), "ok");
    assert.deepEqual(await paths(w.local, "photos"), [
      "photos/2024/",
      "photos/2024/b.jpg",
      "photos/a.jpg",
      "photos/empty/",
      "photos/x.tmp",
    ]);
    assert.equal(await w.run("get -r photos into"), "ok");
    assert.ok((await paths(w.local, "into")).includes("into/photos/a.jpg"));
    assert.equal(await w.run("get -r photos copy"), "ok");
    assert.ok((await paths(w.local, "copy")).includes("copy/2024/b.jpg"));
    assert.equal(
      await w.run("get -r --exclude 2024 --exclude *.tmp photos less"),
      "ok",
    );
    assert.deepEqual(await paths(w.local, "less"), [
      "less/a.jpg",
      "less/empty/",
    ]);
    assert.equal(await w.run("cd photos"), "ok");
    assert.equal(await w.run("ls"), "ok");
    // 1 is "2024", a folder: no -r needed.
    assert.equal(await w.run("lcd into"), "ok");
    assert.equal(await w.run("get 1"), "ok");
    assert.deepEqual(await paths(w.local, "into/2024"), ["into/2024/b.jpg"]);
    assert.equal(
      await w.run("get photos"),
      'failed: Cannot get "photos/photos": no such file on the server',
    );
  });
});

Deno.test("get without -r of a typed folder name says how to copy it", async () => {
  await withShellWorld({ remote: TREE }, async (w) => {
    assert.match(
      await w.run("get photos"),
      /^failed: Cannot get "photos": it is a folder on the server \("get -r" copies folders\)$/,
    );
  });
});

Deno.test("put -r reports the links it did not follow, and sends nothing through them", async () => {
  await withShellWorld({ local: { "src/a.txt": "a" } }, async (w) => {
    await Deno.writeTextFile(join(w.local, "secret.txt"), "s");
    await Deno.symlink(join(w.local, "secret.txt"), join(w.local, "src/l"));
    assert.equal(await w.run("put -r src"), "ok");
    assert.deepEqual(await paths(w.root), ["src/", "src/a.txt"]);
    assert.equal(
      w.err.text(),
      'warning: skipped 1 symbolic link (not followed): "l"\n',
    );
  });
});

Deno.test("mkdir -p makes the missing parents and accepts an existing folder; rmdir deletes only an empty folder", async () => {
  await withShellWorld({ remote: { "f.txt": "x" } }, async (w) => {
    assert.equal(await w.run("mkdir -p a/b/c"), "ok");
    assert.equal(await w.run("mkdir -p a/b"), "ok");
    assert.deepEqual(await paths(w.root), ["a/", "a/b/", "a/b/c/", "f.txt"]);
    assert.equal(
      await w.run("mkdir -p f.txt/x"),
      'failed: Cannot create folder "f.txt": a file has that name on the server',
    );
    assert.equal(
      await w.run("rmdir a"),
      'failed: Cannot delete folder "a": it is not empty ("rm -r" deletes it with its contents)',
    );
    assert.equal(
      await w.run("rmdir f.txt"),
      'failed: Cannot delete folder "f.txt": it is not a folder ("rm" deletes files)',
    );
    assert.equal(await w.run("rmdir a/b/c"), "ok");
    assert.deepEqual(await paths(w.root), ["a/", "a/b/", "f.txt"]);
  });
});

Deno.test("rm -r deletes a folder with everything in it, asking first on a terminal unless -f", async () => {
  await withShellWorld({ remote: TREE }, async (w) => {
    const questions: string[] = [];
    const asking = (answer: boolean) => ({
      state: w.state,
      output: w.output,
      confirm: (q: string) => {
        questions.push(q);
        return Promise.resolve(answer);
      },
    });
    const run = async (line: string, answer: boolean) =>
      (await runWords(splitWords(line), asking(answer))).status;
    assert.equal(await run("rm -r photos", false), "ok");
    assert.deepEqual(questions, [
      'Delete "photos" with everything in it? [y/N] ',
    ]);
    assert.ok((await paths(w.root)).includes("photos/a.jpg"));
    assert.equal(await run("rm -rf photos/2024", false), "ok");
    assert.equal(questions.length, 1);
    assert.equal(await run("rm -r photos", true), "ok");
    assert.deepEqual(await paths(w.root), []);
    assert.match(w.out.text(), /Deleted "photos" \(2 files, 2 folders\)/);
  });
});

Deno.test("rm -r in a script asks nothing; rm without -r says how to delete a folder that is not empty", async () => {
  await withShellWorld({ remote: TREE }, async (w) => {
    assert.equal(
      await w.run("rm photos"),
      'failed: Cannot delete "photos": it is a folder on the server ("rm -r" deletes a folder with its contents)',
    );
    assert.equal(await w.run("rm -r photos"), "ok");
    assert.deepEqual(await paths(w.root), []);
  });
});

Deno.test("ls -R numbers on through every folder, and -l adds each folder's totals and the tree's", async () => {
  await withShellWorld({ remote: TREE }, async (w) => {
    assert.equal(await w.run("ls -lR photos"), "ok");
    const text = w.out.text();
    assert.match(text, /^\/photos:\n/);
    assert.match(
      text,
      /\n\/photos\/2024:\n#\s+mode\s+size\s+modified\s+name\n5\s/,
    );
    assert.match(
      text,
      /\ngrand total 4 B \(4 bytes\) in 3 files and 2 folders\n$/,
    );
    // Number 5 is 2024/b.jpg, listed under "/photos/2024".
    assert.equal(await w.run("lmkdir got"), "ok");
    assert.equal(await w.run("get 5 got/"), "ok");
    assert.equal(await Deno.readTextFile(join(w.local, "got/b.jpg")), "bb");
  });
});

Deno.test("put takes a folder by its lls number without -r, and -r on a single file copies the file", async () => {
  await withShellWorld({ local: TREE, remote: { "r.txt": "r" } }, async (w) => {
    assert.equal(await w.run("lls"), "ok");
    assert.equal(await w.run("put 1"), "ok");
    assert.ok((await paths(w.root)).includes("photos/2024/b.jpg"));
    assert.equal(await w.run("put -r photos/a.jpg"), "ok");
    assert.equal(await w.run("get -r r.txt"), "ok");
    assert.equal(await Deno.readTextFile(join(w.root, "a.jpg")), "a");
    assert.equal(await Deno.readTextFile(join(w.local, "r.txt")), "r");
    assert.equal(
      await w.run("put --exclude *.jpg photos/a.jpg"),
      'usage: --exclude applies to folders ("put -r FOLDER")',
    );
  });
});

Deno.test("put -r and get -r run again skip identical files and say how many were sent, skipped and renamed", async () => {
  await withShellWorld({ local: TREE }, async (w) => {
    assert.equal(await w.run("put -r photos"), "ok");
    await Deno.writeTextFile(join(w.local, "photos/a.jpg"), "A");
    assert.equal(await w.run("put -r photos"), "ok");
    assert.match(
      w.out.text(),
      /"a\.jpg" stored as "\(1\) a\.jpg"\nUploaded 1 file in 3 folders \(1 B\) in [^;\n]*; 2 identical skipped \(3 B\), 1 renamed\n/,
    );
    assert.equal(await w.run("put -r --no-skip photos"), "ok");
    assert.match(
      w.out.text(),
      /Uploaded 3 files in 3 folders \(4 B\) in [^;\n]*; 3 renamed\n/,
    );
    assert.equal(await w.run("lmkdir down"), "ok");
    assert.equal(await w.run("lcd down"), "ok");
    assert.equal(await w.run("get -r photos"), "ok");
    assert.equal(await w.run("get -r photos"), "ok");
    assert.match(
      w.out.text(),
      /Downloaded 0 files in 3 folders \(0 B\) in [^;\n]*; 7 identical skipped \(9 B\)\n/,
    );
  });
});
