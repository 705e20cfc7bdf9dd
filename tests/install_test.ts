/**
 * `deno task install`: README's set-up must leave a working `fts` command
 * whose `serve` prints `listening on …` first, with no network.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "./_helpers/common/temp_dir.ts";

const CHECKOUT = fileURLToPath(new URL("..", import.meta.url));

/** Any request to the network fails at once (nothing listens on port 9). */
const OFFLINE = {
  HTTPS_PROXY: "http://127.0.0.1:9",
  HTTP_PROXY: "http://127.0.0.1:9",
  NO_COLOR: "1",
};

Deno.test("deno task install --root DIR writes a working DIR/bin/fts offline from the cache", async () => {
  await using root = await tempDir();
  await using served = await tempDir();
  const bin = join(root.path, "bin");
  const installed = await new Deno.Command(Deno.execPath(), {
    args: ["task", "install", "--root", root.path],
    cwd: CHECKOUT,
    env: OFFLINE,
    stdin: "null",
  }).output();
  const out = new TextDecoder().decode(installed.stdout);
  assert.equal(
    installed.code,
    0,
    new TextDecoder().decode(installed.stderr),
  );
  assert.equal(
    out,
    `Installed ${
      join(bin, "fts")
    }\n${bin} is not on your PATH; add it (e.g. in ~/.profile):\n  export PATH="${bin}:$PATH"\n`,
  );
  const mode = (await Deno.stat(join(bin, "fts"))).mode!;
  assert.equal(mode & 0o111, 0o111);

  // As README's set-up runs it: by name, from another folder, on PATH.
  const env = {
    ...OFFLINE,
    PATH: `${bin}:${Deno.env.get("PATH") ?? ""}`,
  };
  const version = await new Deno.Command("fts", {
    args: ["--version"],
    cwd: served.path,
    env,
    stdin: "null",
  }).output();
  assert.equal(new TextDecoder().decode(version.stdout), "fts 0.1.0\n");

  // Its first line of output, standard error included, is "listening on".
  const serve = new Deno.Command("sh", {
    args: ["-c", 'exec fts serve --port 0 --root "$1" 2>&1', "sh", served.path],
    env,
    stdin: "null",
    stdout: "piped",
  }).spawn();
  const lines = serve.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) break;
    text += value;
  }
  serve.kill("SIGTERM");
  while (!(await lines.read()).done) {
    // drain until the server exits
  }
  const status = await serve.status;
  assert.match(text, /^listening on 127\.0\.0\.1:\d+\n/);
  assert.equal(status.code, 0);
});
