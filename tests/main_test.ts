import assert from "node:assert/strict";
import { main } from "../main.ts";
import { fakeIo } from "./_helpers/client/cli_io.ts";

Deno.test("main() dispatches user and key to their commands", async () => {
  const user = fakeIo();
  assert.equal(await main(["user", "--help"], user.io), 0);
  assert.match(user.stdout.text(), /^Usage: fts user <command>/);
  const key = fakeIo();
  assert.equal(await main(["key", "--help"], key.io), 0);
  assert.match(key.stdout.text(), /^Usage: fts key <command>/);
  const unknown = fakeIo();
  assert.equal(await main(["frob"], unknown.io), 2);
  assert.equal(
    unknown.stderr.text(),
    'fts: Unknown command "frob" (try "fts --help")\n',
  );
});

Deno.test("main() --help names every command", async () => {
  const { io, stdout } = fakeIo();
  assert.equal(await main(["--help"], io), 0);
  for (
    const word of [
      "fts serve",
      "fts connect [USER@]HOST",
      "fts user",
      "fts key",
      "fts known-hosts list|rm HOST",
    ]
  ) {
    assert.ok(stdout.text().includes(word), word);
  }
});

Deno.test("main() turns an error no command handled into one line and exit 1", async () => {
  const { io, stderr } = fakeIo({ env: {} });
  const broken = {
    ...io,
    stdout: {
      isTerminal: () => false,
      writeSync(): number {
        throw new TypeError("the stream broke\n    at write (x.ts:1:1)");
      },
    },
  };
  assert.equal(await main(["--version"], broken), 1);
  assert.equal(
    stderr.text(),
    "fts: Unexpected error: TypeError: the stream broke\n",
  );
  const debug = fakeIo({ env: { FTS_DEBUG: "1" } });
  assert.equal(
    await main(["--version"], { ...debug.io, stdout: broken.stdout }),
    1,
  );
  assert.match(
    debug.stderr.text(),
    /^fts: Unexpected error: TypeError: the stream broke\n[^]* {4}at /,
  );
});

Deno.test("main(): every command answers a usage error with one line and exit 2, in the same words", async () => {
  const cases: [string[], string][] = [
    [
      ["serve", "--bogus"],
      `fts serve: Unknown option '--bogus' (see "fts serve --help")\n`,
    ],
    [
      ["serve", "stray"],
      `fts serve: Unexpected argument 'stray' (see "fts serve --help")\n`,
    ],
    [["user", "list", "--bogus"], "fts: Unknown option '--bogus'\n"],
    [
      ["key", "gen", "--bogus"],
      `fts key: Unknown option '--bogus' (see "fts key --help")\n`,
    ],
    [
      ["known-hosts", "list", "--bogus"],
      `fts: Unknown option '--bogus' (try "fts known-hosts --help")\n`,
    ],
    [
      ["connect", "--bogus", "h"],
      `fts: Unknown option '--bogus' (try "fts connect --help")\n`,
    ],
  ];
  for (const [args, expected] of cases) {
    const { io, stderr } = fakeIo({ env: {} });
    assert.equal(await main(args, io), 2, args.join(" "));
    assert.equal(stderr.text(), expected, args.join(" "));
  }
});
