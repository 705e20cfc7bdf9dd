import assert from "node:assert/strict";
import { withShellWorld } from "../../_helpers/client/shell_world.ts";

const modeOf = async (path: string) => (await Deno.stat(path)).mode! & 0o7777;

Deno.test("put -p keeps the permission bits, masked to a safe set; put alone stores 0600", async () => {
  await withShellWorld({
    local: { "run.sh": "#!/bin/sh\n", "setuid": "x", "plain": "p" },
  }, async ({ run, local, root, err }) => {
    await Deno.chmod(`${local}/run.sh`, 0o754);
    await Deno.chmod(`${local}/setuid`, 0o4777);
    await Deno.chmod(`${local}/plain`, 0o755);
    assert.equal(await run("put -p run.sh"), "ok");
    assert.equal(await run("mput -p setuid"), "ok");
    assert.equal(await run("put plain"), "ok");
    assert.equal(await modeOf(`${root}/run.sh`), 0o754);
    // Never setuid, never group/other writable, always owner rw.
    assert.equal(await modeOf(`${root}/setuid`), 0o755);
    assert.equal(await modeOf(`${root}/plain`), 0o600);
    assert.equal(err.text(), "");
  });
});

Deno.test("put -p of a read-only file stores it owner-readable and writable", async () => {
  await withShellWorld(
    { local: { "ro": "r" } },
    async ({ run, local, root }) => {
      await Deno.chmod(`${local}/ro`, 0o444);
      assert.equal(await run("put -p ro"), "ok");
      assert.equal(await modeOf(`${root}/ro`), 0o644);
    },
  );
});

Deno.test("get -p gives the local file the server's permission bits; get alone does not", async () => {
  await withShellWorld({
    remote: { "tool": "t", "other": "o", "many1": "1" },
  }, async ({ run, local, root }) => {
    await Deno.chmod(`${root}/tool`, 0o751);
    await Deno.chmod(`${root}/other`, 0o751);
    await Deno.chmod(`${root}/many1`, 0o705);
    assert.equal(await run("get -p tool"), "ok");
    assert.equal(await run("get other"), "ok");
    assert.equal(await run("mget -p many*"), "ok");
    assert.equal(await modeOf(`${local}/tool`), 0o751);
    assert.notEqual(await modeOf(`${local}/other`), 0o751);
    assert.equal(await modeOf(`${local}/many1`), 0o705);
  });
});

Deno.test("ls -l shows permission bits, exact sizes, seconds and totals; lls -l the local ones", async () => {
  await withShellWorld({
    remote: { "a.txt": "12345", "docs/": "" },
    local: { "b.txt": "123" },
  }, async ({ run, out, root, local }) => {
    await Deno.chmod(`${root}/a.txt`, 0o640);
    await Deno.chmod(`${root}/docs`, 0o750);
    await Deno.chmod(`${local}/b.txt`, 0o604);
    assert.equal(await run("ls -l"), "ok");
    assert.equal(await run("lls -l"), "ok");
    const lines = out.text().trimEnd().split("\n");
    assert.match(lines[0]!, /^#\s+mode\s+size\s+modified\s+name$/);
    assert.match(
      lines[1]!,
      /^1\s+-rw-r-----\s+5\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+a\.txt$/,
    );
    assert.match(lines[2]!, /^2\s+drwxr-x---\s+-\s+.*docs\/$/);
    assert.equal(lines[3], "total 5 B (5 bytes) in 1 file and 1 folder");
    assert.match(lines[5]!, /^1\s+-rw----r--\s+3\s+.*b\.txt$/);
    assert.equal(lines[6], "total 3 B (3 bytes) in 1 file and 0 folders");
  });
});
