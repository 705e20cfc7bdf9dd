/**
 * Rights that change while sessions are open: `fts user` (another process,
 * here its in-process entry point) rewrites the users file, and the running
 * server applies it to each open session at its next request.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { USERS_FILE } from "../../../server/auth/accounts.ts";
import { ScryptHasher } from "../../../server/auth/password_hash.ts";
import type { Permission } from "../../../server/auth/permissions.ts";
import { userCommand } from "../../../server/cli/user_cli.ts";
import { fakeIo } from "../../_helpers/client/cli_io.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";
import type { RawClient } from "../../_helpers/server/raw_client.ts";
import { addUsers, tempDir } from "../../_helpers/server/security.ts";

const hasher = new ScryptHasher({ params: { logN: 10, r: 8, p: 1 } });
const ANA = { password: "correct horse", perms: ["read", "write"] as const };

/** Runs `fts user ARGS --state STATE` as the command line would. */
async function ftsUser(state: string, ...args: string[]): Promise<void> {
  const { io, stderr } = fakeIo({ env: { FTS_PASSWORD: "new-password" } });
  const code = await userCommand([...args, "--state", state], io, { hasher });
  assert.equal(code, 0, stderr.text());
}

async function loggedIn(c: RawClient, user: string, password: string) {
  const reply = await c.request({ type: "auth", id: 0, user, password });
  assert.equal(reply?.type, "ok", JSON.stringify(reply));
}

function codeOf(m: unknown): string | undefined {
  const e = m as { type: string; code?: string };
  return e.type === "error" ? e.code : e.type;
}

Deno.test("fts user perm applies to an open session at its next request", async () => {
  await using state = await tempDir("fts_state_");
  const accounts = await addUsers(state.path, { ana: ANA });
  await using t = await startTestServer({ accounts });
  await using c = await t.connect();
  await loggedIn(c, "ana", ANA.password);
  assert.equal((await c.put("a.txt", new Uint8Array(2))).type, "put_done");
  await ftsUser(state.path, "perm", "ana", "--perm", "read");
  const put = await c.put("b.txt", new Uint8Array(2));
  assert.deepEqual(
    put.type === "error" && [put.code, put.message],
    [
      "permission_denied",
      'Permission denied: "write" is required to upload files',
    ],
  );
  assert.ok(Array.isArray(await c.list("")), "read still allowed");
  await ftsUser(state.path, "perm", "ana", "--perm", "read,write");
  assert.equal((await c.put("c.txt", new Uint8Array(2))).type, "put_done");
  assert.ok(
    t.logs.some((l) => / ana permissions changed to read$/.test(l)),
    t.logs.join("\n"),
  );
});

Deno.test("fts user del closes the removed user's open session at its next request", async () => {
  await using state = await tempDir("fts_state_");
  const accounts = await addUsers(state.path, {
    ana: ANA,
    bob: { password: "bob-pass", perms: ["read"] },
  });
  await using t = await startTestServer({ accounts });
  await using c = await t.connect();
  await loggedIn(c, "ana", ANA.password);
  await using bob = await t.connect();
  await loggedIn(bob, "bob", "bob-pass");
  await ftsUser(state.path, "del", "ana");
  const put = await c.put("a.txt", new Uint8Array(2));
  const reason = 'The account "ana" was removed: the session is closed';
  assert.deepEqual(
    put.type === "error" && [put.code, put.message],
    ["auth_failed", reason],
  );
  assert.deepEqual(await c.drain(), [
    { type: "error", id: 0, code: "auth_failed", message: reason },
  ]);
  assert.deepEqual(await t.visible(), [], "nothing was written");
  assert.ok(Array.isArray(await bob.list("")), "other users go on");
});

Deno.test("fts user passwd closes the sessions logged in with the old password", async () => {
  await using state = await tempDir("fts_state_");
  const accounts = await addUsers(state.path, { ana: ANA });
  await using t = await startTestServer({ accounts });
  await using c = await t.connect();
  await loggedIn(c, "ana", ANA.password);
  await ftsUser(state.path, "passwd", "ana");
  const reply = await c.request({ type: "list", id: c.id(), path: "" });
  assert.equal(codeOf(reply), "auth_failed");
  assert.deepEqual((await c.drain()).map(codeOf), ["auth_failed"]);
  await using again = await t.connect();
  await loggedIn(again, "ana", "new-password");
});

Deno.test("An anonymous session opened before the first fts user add is closed at its next request", async () => {
  await using state = await tempDir("fts_state_");
  const accounts = await addUsers(state.path, {});
  await using t = await startTestServer({ accounts });
  await using c = await t.connect();
  assert.equal(c.welcome?.auth, false);
  await Deno.writeTextFile(join(t.root, "keep.txt"), "keep");
  assert.equal((await c.put("a.txt", new Uint8Array(1))).type, "put_done");
  await ftsUser(state.path, "add", "ana");
  const del = await c.request({ type: "delete", id: c.id(), name: "keep.txt" });
  assert.equal(codeOf(del), "auth_required");
  assert.deepEqual((await c.drain()).map(codeOf), ["auth_required"]);
  assert.deepEqual(await t.visible(), ["a.txt", "keep.txt"]);
  await using next = await t.connect();
  assert.equal(next.welcome?.auth, true);
});

Deno.test("Session: an unreadable users file refuses requests but keeps the session", async () => {
  await using state = await tempDir("fts_state_");
  const accounts = await addUsers(state.path, { ana: ANA });
  await using t = await startTestServer({ accounts });
  await using c = await t.connect();
  await loggedIn(c, "ana", ANA.password);
  const file = join(state.path, USERS_FILE);
  const good = await Deno.readTextFile(file);
  await Deno.writeTextFile(file, "{ not json");
  const reply = await c.request({ type: "list", id: c.id(), path: "" });
  assert.deepEqual(
    reply?.type === "error" && [reply.code, reply.message],
    [
      "internal",
      "Cannot list: the server cannot read its accounts; see its log",
    ],
  );
  assert.ok(!t.logs.some((l) => l.includes("scrypt$")), "no hash logged");
  await Deno.writeTextFile(file, good.replace('"write"', '"delete"'));
  const perms: Permission[] = ["read", "delete"];
  assert.ok(Array.isArray(await c.list("")));
  assert.ok(
    t.logs.some((l) => l.endsWith(`ana permissions changed to ${perms}`)),
  );
});
