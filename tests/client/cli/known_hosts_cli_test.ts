import assert from "node:assert/strict";
import { join } from "node:path";
import { hostKey, KnownHosts } from "../../../client/connect/known_hosts.ts";
import { main } from "../../../main.ts";
import { fakeIo } from "../../_helpers/client/cli_io.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

const A = "SHA256:u6tlZUS/baH9Lr56Zs+gR7BuYQMEZxyDtvFxW68qeeA";
const B = "SHA256:Xq1S0V3GtVJ6u+uU2PpGh6mS1Yx9rGm1Wl2bU8f2yXs";

async function run(args: string[], config: string) {
  const { io, stdout, stderr } = fakeIo({ env: { FTS_CONFIG_DIR: config } });
  const status = await main(["known-hosts", ...args], io);
  return { status, stdout: stdout.text(), stderr: stderr.text() };
}

Deno.test("fts known-hosts list prints every stored server; rm forgets one by HOST[:PORT]", async () => {
  await using config = await tempDir();
  const file = join(config.path, "known_hosts");
  const known = new KnownHosts(file);
  await known.add(hostKey("127.0.0.1", 2000), A);
  await known.add(hostKey("::1", 12345), B);
  assert.deepEqual(await run(["list"], config.path), {
    status: 0,
    stdout: `127.0.0.1:2000 ${A}\n[::1]:12345 ${B}\n`,
    stderr: "",
  });
  // A bare IPv6 address means the default port, as for fts connect.
  assert.deepEqual(await run(["rm", "0:0::1"], config.path), {
    status: 0,
    stdout: "",
    stderr: `Forgot the key of "[::1]:12345" ("${file}")\n`,
  });
  assert.equal(await known.lookup("[::1]:12345"), null);
  assert.equal(await known.lookup("127.0.0.1:2000"), A);
  assert.deepEqual(await run(["rm", "127.0.0.1:2001"], config.path), {
    status: 1,
    stdout: "",
    stderr: `fts: No key stored for "127.0.0.1:2001" in "${file}"\n`,
  });
});

Deno.test("fts known-hosts: usage errors are one line and exit 2; --help exits 0", async () => {
  await using config = await tempDir();
  for (
    const args of [[], ["frob"], ["rm"], ["rm", "a", "b"], ["list", "x"], [
      "rm",
      "::1:41877",
    ], ["--bogus"]]
  ) {
    const result = await run(args, config.path);
    assert.equal(result.status, 2, args.join(" "));
    assert.match(result.stderr, /^fts: [^\n]+\n$/, args.join(" "));
  }
  const help = await run(["--help"], config.path);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: fts known-hosts <command>/);
  assert.deepEqual(await run(["list"], config.path), {
    status: 0,
    stdout: "",
    stderr: "",
  });
});

Deno.test("fts known-hosts: a known_hosts that cannot be read is one line and exit 1, whatever the file-system error", async () => {
  await using config = await tempDir();
  // A folder where the file belongs.
  await Deno.mkdir(join(config.path, "known_hosts"));
  const result = await run(["list"], config.path);
  assert.equal(result.status, 1);
  assert.equal(
    result.stderr,
    `fts: Cannot read or write "${
      join(config.path, "known_hosts")
    }": it is a folder\n`,
  );
});
