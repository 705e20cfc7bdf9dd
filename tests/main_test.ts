import assert from "node:assert/strict";
import { main } from "../main.ts";
import { fakeIo } from "./_helpers/client_io.ts";

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
    ]
  ) {
    assert.ok(stdout.text().includes(word), word);
  }
});
