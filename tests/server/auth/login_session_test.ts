/**
 * Logins, permissions and remote shutdown as the server enforces them,
 * spoken to with the raw client (plain TCP, in-process server).
 */

import assert from "node:assert/strict";
import type { Accounts } from "../../../server/auth/accounts.ts";
import { LOGIN_FAILED_MESSAGE } from "../../../server/auth/login.ts";
import {
  AccessRefusedError,
  type Permission,
} from "../../../server/auth/permissions.ts";
import { startServer } from "../../../server/server.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";
import { ManualClock } from "../../_helpers/common/manual_clock.ts";
import { RawClient } from "../../_helpers/server/raw_client.ts";
import { addUsers, tempDir } from "../../_helpers/server/security.ts";

const USERS: Record<string, { password: string; perms: Permission[] }> = {
  ana: { password: "correct horse", perms: ["read", "write"] },
  root: { password: "battery staple", perms: ["read", "admin"] },
  writer: { password: "w-pass", perms: ["write"] },
  deleter: { password: "d-pass", perms: ["read", "delete"] },
};

async function withAccounts(
  run: (accounts: Accounts) => Promise<void>,
): Promise<void> {
  await using state = await tempDir("fts_state_");
  await run(await addUsers(state.path, USERS));
}

async function login(c: RawClient, user: string, password: string) {
  return await c.request({ type: "auth", id: 0, user, password });
}

Deno.test("Session with accounts: WELCOME asks for a login and requests before it get auth_required", async () => {
  await withAccounts(async (accounts) => {
    await using t = await startTestServer({ accounts });
    await using c = await t.connect();
    assert.equal(c.welcome?.auth, true);
    const early = await c.request({ type: "list", id: c.id(), path: "" });
    assert.equal(early?.type === "error" && early.code, "auth_required");
    assert.deepEqual(await login(c, "ana", "correct horse"), {
      type: "ok",
      id: 0,
      perms: ["read", "write"],
    });
    assert.ok(Array.isArray(await c.list("")));
    assert.ok(
      t.logs.some((l) =>
        /^127\.0\.0\.1:\d+ ana logged in \(read,write\)$/.test(l)
      ),
      t.logs.join("\n"),
    );
    assert.ok(t.logs.some((l) => /^127\.0\.0\.1:\d+ ana list "" /.test(l)));
  });
});

Deno.test("Session: a wrong password and an unknown user get the same answer, and the connection closes", async () => {
  await withAccounts(async (accounts) => {
    await using t = await startTestServer({
      accounts,
      loginThrottle: { baseDelayMs: 0 },
    });
    const answers = [];
    for (const [user, password] of [["ana", "wrong"], ["nobody", "wrong"]]) {
      await using c = await t.connect();
      answers.push(await login(c, user!, password!));
      assert.deepEqual(await c.drain(), [], "closed after one guess");
    }
    assert.deepEqual(answers[0], {
      type: "error",
      id: 0,
      code: "auth_failed",
      message: LOGIN_FAILED_MESSAGE,
    });
    assert.deepEqual(answers[1], answers[0]);
    assert.ok(t.logs.some((l) => /login as "ana" failed/.test(l)));
    assert.ok(!t.logs.some((l) => l.includes("wrong")), "no password logged");
  });
});

/**
 * Starts a login on a new connection and tells whether the server's clock
 * got a pause of `delayMs` before the login was answered; then moves the
 * clock on and returns the answer. Fails after 10 s (real time) when
 * neither happens, instead of hanging.
 */
async function loginWaits(
  t: Awaited<ReturnType<typeof startTestServer>>,
  clock: ManualClock,
  user: string,
  password: string,
  delayMs: number,
) {
  await using c = await t.connect();
  let answered = false;
  const answer = login(c, user, password).finally(() => answered = true);
  const guard = Promise.withResolvers<never>();
  const timer = setTimeout(
    () => guard.reject(new Error(`No ${delayMs} ms pause and no answer`)),
    10_000,
  );
  try {
    await Promise.race([clock.timerSet(delayMs), answer, guard.promise]);
  } finally {
    clearTimeout(timer);
  }
  const waitedBeforeCheck = !answered;
  clock.advance(delayMs);
  return { waitedBeforeCheck, reply: await answer };
}

Deno.test("Session: while failures count, every login waits a growing delay before its password is checked", async () => {
  await withAccounts(async (accounts) => {
    const clock = new ManualClock();
    await using t = await startTestServer({
      accounts,
      clock,
      loginThrottle: { baseDelayMs: 700, maxDelayMs: 5_000 },
    });
    const first = await loginWaits(t, clock, "ana", "wrong", 700);
    assert.equal(first.waitedBeforeCheck, false, "no failure yet, no delay");
    assert.equal(
      first.reply?.type === "error" && first.reply.code,
      "auth_failed",
    );
    for (const delay of [700, 1_400, 2_800]) {
      const { waitedBeforeCheck, reply } = await loginWaits(
        t,
        clock,
        "ana",
        "wrong",
        delay,
      );
      assert.ok(waitedBeforeCheck, `answered before ${delay} ms`);
      assert.equal(reply?.type === "error" && reply.code, "auth_failed");
    }
  });
});

Deno.test("Session: during a delay a right password waits as long as a wrong one", async () => {
  await withAccounts(async (accounts) => {
    const clock = new ManualClock();
    await using t = await startTestServer({
      accounts,
      clock,
      loginThrottle: { baseDelayMs: 500 },
    });
    assert.equal(
      (await loginWaits(t, clock, "root", "guess", 500)).reply?.type,
      "error",
    );
    const right = await loginWaits(t, clock, "ana", "correct horse", 500);
    assert.equal(right.reply?.type, "ok");
    assert.ok(right.waitedBeforeCheck, "a right password was answered at once");
    const wrong = await loginWaits(t, clock, "ana", "wrong", 500);
    assert.equal(wrong.reply?.type, "error");
    assert.ok(wrong.waitedBeforeCheck);
  });
});

Deno.test("Session: logging into one's own account between guesses at another does not lift the count", async () => {
  await withAccounts(async (accounts) => {
    await using t = await startTestServer({
      accounts,
      loginThrottle: { baseDelayMs: 0 },
    });
    let guesses = 0;
    let banned: unknown = null;
    for (let round = 0; round < 40 && banned === null; round++) {
      {
        await using c = await t.connect();
        const guess = await login(c, "root", `guess ${round}`);
        assert.equal(guess?.type === "error" && guess.code, "auth_failed");
        if (guess?.type === "error" && guess.message !== LOGIN_FAILED_MESSAGE) {
          banned = guess.message;
          break;
        }
        guesses++;
      }
      await using own = await t.connect();
      const mine = await login(own, "ana", "correct horse");
      if (mine?.type === "error") banned = mine.message;
    }
    assert.equal(guesses, 5);
    assert.equal(
      banned,
      "Too many failed logins from this address: try again in 10 minutes",
    );
  });
});

Deno.test("Session: parallel right logins from one address all get in", async () => {
  await withAccounts(async (accounts) => {
    await using t = await startTestServer({ accounts });
    const clients = await Promise.all(
      Array.from({ length: 8 }, () => t.connect()),
    );
    try {
      const replies = await Promise.all(
        clients.map((c) => login(c, "ana", "correct horse")),
      );
      assert.deepEqual(replies.map((r) => r?.type), Array(8).fill("ok"));
    } finally {
      for (const c of clients) c.close();
    }
  });
});

Deno.test("Session: repeated failures ban the address, even for the right password, until the ban ends", async () => {
  await withAccounts(async (accounts) => {
    let now = Date.UTC(2030, 0, 1);
    await using t = await startTestServer({
      accounts,
      loginThrottle: {
        clock: { now: () => now },
        baseDelayMs: 0,
        maxFailures: 3,
        banMs: 60_000,
      },
    });
    for (let i = 0; i < 3; i++) {
      await using c = await t.connect();
      const reply = await login(c, "ana", `guess ${i}`);
      assert.deepEqual(
        reply?.type === "error" && [reply.code, reply.message],
        ["auth_failed", LOGIN_FAILED_MESSAGE],
      );
    }
    {
      await using c = await t.connect();
      const reply = await login(c, "ana", "correct horse");
      assert.ok(reply?.type === "error", JSON.stringify(reply));
      assert.equal(reply.code, "auth_failed");
      assert.equal(
        reply.message,
        "Too many failed logins from this address: try again in 1 minute",
      );
    }
    assert.ok(t.logs.some((l) => /address banned/.test(l)));
    now += 60_000;
    await using c = await t.connect();
    assert.equal((await login(c, "ana", "correct horse"))?.type, "ok");
  });
});

Deno.test("Session: a client that does not log in in time is closed", async () => {
  await withAccounts(async (accounts) => {
    const clock = new ManualClock();
    await using t = await startTestServer({
      accounts,
      clock,
      loginTimeoutMs: 120_000,
    });
    await using c = await t.connect();
    await clock.timerSet(120_000);
    clock.advance(120_000);
    const seen = await c.drain();
    assert.deepEqual(seen.map((m) => m.type === "error" && m.code), [
      "timeout",
    ]);
    await t.waitForLog(/login timeout/);
  });
});

Deno.test("Session without accounts: AUTH is a bad request, and users added while running take effect", async () => {
  await using state = await tempDir("fts_state_");
  const accounts = await addUsers(state.path, {});
  await using t = await startTestServer({ accounts });
  {
    await using c = await t.connect();
    assert.equal(c.welcome?.auth, false);
    const reply = await login(c, "ana", "x");
    assert.equal(reply?.type === "error" && reply.code, "bad_request");
  }
  await addUsers(state.path, { ana: USERS.ana! });
  await using c = await t.connect();
  assert.equal(c.welcome?.auth, true);
});

Deno.test("Session: every operation needs its permission, and the error names it", async () => {
  await withAccounts(async (accounts) => {
    await using t = await startTestServer({ accounts });
    await Deno.writeTextFile(`${t.root}/a.txt`, "a");
    const as = async (user: string) => {
      const c = await t.connect();
      assert.equal((await login(c, user, USERS[user]!.password))?.type, "ok");
      return c;
    };
    const denied = (needed: string, action: string) => ({
      code: "permission_denied",
      message: `Permission denied: "${needed}" is required to ${action}`,
    });
    const errorOf = (m: unknown) => {
      const e = m as { type: string; code?: string; message?: string };
      return e.type === "error" ? { code: e.code, message: e.message } : e;
    };
    {
      await using writer = await as("writer"); // write only
      assert.deepEqual(
        errorOf(await writer.request({ type: "list", id: 1, path: "" })),
        denied("read", "list folders"),
      );
      assert.deepEqual(
        errorOf(
          await writer.request({
            type: "get",
            id: 2,
            name: "a.txt",
            offset: 0,
          }),
        ),
        denied("read", "download files"),
      );
      assert.deepEqual(
        errorOf(await writer.request({ type: "delete", id: 3, name: "a.txt" })),
        denied("delete", "remove files"),
      );
      assert.deepEqual(
        errorOf(await writer.request({ type: "shutdown", id: 4, graceMs: 0 })),
        denied("admin", "shut down the server"),
      );
    }
    {
      await using deleter = await as("deleter"); // read, delete
      const put = await deleter.put("b.txt", new Uint8Array(3));
      assert.deepEqual(errorOf(put), denied("write", "upload files"));
      assert.deepEqual(
        errorOf(await deleter.request({ type: "mkdir", id: 9, name: "d" })),
        denied("write", "create folders"),
      );
      assert.deepEqual(
        errorOf(
          await deleter.request({
            type: "rename",
            id: 10,
            from: "a.txt",
            to: "b.txt",
            overwrite: false,
          }),
        ),
        denied("write", "rename or move files"),
      );
      assert.equal(
        (await deleter.request({ type: "delete", id: 11, name: "a.txt" }))
          ?.type,
        "ok",
      );
    }
    assert.deepEqual(await t.visible(), []);
    assert.ok(
      t.logs.some((l) =>
        / writer delete "a\.txt" 0 B \d+ ms permission_denied$/.test(l)
      ),
    );
  });
});

Deno.test("Session: anonymous clients on loopback may read, write and delete, never shut down", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  assert.equal(c.welcome?.auth, false);
  assert.equal((await c.put("x", new Uint8Array(1))).type, "put_done");
  const reply = await c.request({ type: "shutdown", id: c.id(), graceMs: 0 });
  assert.equal(reply?.type === "error" && reply.code, "permission_denied");
  assert.equal(t.server.connections, 1);
});

Deno.test("Session: anonymous read-only access refuses uploads", async () => {
  await using t = await startTestServer({ anonymous: "read" });
  await using c = await t.connect();
  const put = await c.put("x", new Uint8Array(1));
  assert.equal(put.type === "error" && put.code, "permission_denied");
  assert.ok(Array.isArray(await c.list("")));
});

Deno.test("SHUTDOWN from an admin is answered OK, then the server shuts down with the grace capped at its own", async () => {
  await withAccounts(async (accounts) => {
    await using t = await startTestServer({ accounts, graceMs: 1_000 });
    await using other = await t.connect();
    await login(other, "ana", "correct horse");
    await using admin = await t.connect();
    await login(admin, "root", "battery staple");
    await admin.send({ type: "shutdown", id: 5, graceMs: 600_000 });
    const seen = await admin.drain();
    assert.deepEqual(seen.map((m) => m.type), ["ok", "going_away"]);
    assert.equal(seen[1]?.type === "going_away" && seen[1].graceMs, 1_000);
    assert.deepEqual(
      (await other.drain()).map((m) => m.type),
      ["going_away"],
    );
    await t.server.finished;
    assert.ok(
      t.logs.some((l) => / root shutdown requested \(grace 1 s\)$/.test(l)),
      t.logs.join("\n"),
    );
  });
});

Deno.test("startServer() refuses a non-loopback address without accounts, and --anonymous beside accounts", async () => {
  await using root = await tempDir();
  await assert.rejects(
    startServer({ root: root.path, host: "0.0.0.0", port: 0 }),
    (error: unknown) => {
      assert.ok(error instanceof AccessRefusedError);
      assert.equal(error.reason, "no_accounts");
      assert.match(
        error.message,
        /^Cannot listen on "0\.0\.0\.0" without user accounts/,
      );
      return true;
    },
  );
  await withAccounts(async (accounts) => {
    await assert.rejects(
      startServer({
        root: root.path,
        host: "127.0.0.1",
        port: 0,
        accounts,
        anonymous: "read",
      }),
      /Cannot allow anonymous access while user accounts exist/,
    );
  });
});
