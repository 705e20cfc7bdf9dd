import assert from "node:assert/strict";
import { FtsError } from "../../../protocol/errors.ts";
import {
  type LoginAttempt,
  LoginBannedError,
  LoginThrottle,
  type LoginThrottleOptions,
} from "../../../server/auth/login_throttle.ts";

const MINUTE = 60_000;
const A = "192.0.2.1";

class FakeClock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

function setup(options: LoginThrottleOptions = {}) {
  const clock = new FakeClock();
  const throttle = new LoginThrottle({ clock, ...options });
  /** One failed login as `user`; returns the delay it was given. */
  const fail = async (addr: string, user = "ana") => {
    const attempt = await throttle.begin(addr, user);
    attempt.failed();
    return attempt.delayMs;
  };
  /** One successful login as `user`; returns the delay it was given. */
  const succeed = async (addr: string, user = "ana") => {
    const attempt = await throttle.begin(addr, user);
    attempt.succeeded();
    return attempt.delayMs;
  };
  return { clock, throttle, fail, succeed };
}

async function assertBanned(
  attempt: Promise<LoginAttempt>,
  retryAfterMs: number,
  scope: "address" | "account" = "address",
): Promise<void> {
  await assert.rejects(attempt, (error: unknown) => {
    assert.ok(error instanceof LoginBannedError);
    assert.ok(error instanceof FtsError);
    assert.equal(error.code, "auth_failed");
    assert.equal(error.retryAfterMs, retryAfterMs);
    assert.equal(error.scope, scope);
    return true;
  });
}

Deno.test("LoginThrottle gives no delay without failures, then one that doubles after each failure", async () => {
  const { fail } = setup();
  const delays = [];
  for (let i = 0; i < 5; i++) delays.push(await fail(A));
  assert.deepEqual(delays, [0, 500, 1000, 2000, 4000]);
});

Deno.test("LoginThrottle delays every attempt during the delay window, right password or not", async () => {
  const { fail, succeed } = setup();
  await fail(A, "bob");
  await fail(A, "bob");
  assert.equal(await succeed(A, "ana"), 1000, "a right password waits too");
  assert.equal(await fail(A, "bob"), 1000, "a wrong one waits the same");
});

Deno.test("LoginThrottle caps the delay at maxDelayMs", async () => {
  const { fail } = setup({ maxFailures: 20, maxDelayMs: 3000 });
  const delays = [];
  for (let i = 0; i < 8; i++) delays.push(await fail(A));
  assert.deepEqual(delays, [0, 500, 1000, 2000, 3000, 3000, 3000, 3000]);
});

Deno.test("LoginThrottle bans an address after 5 failures for 10 minutes, then lets it in", async () => {
  const { clock, throttle, fail } = setup();
  for (let i = 0; i < 4; i++) await fail(A);
  assert.equal(throttle.bannedFor(A), 0);
  await fail(A);
  assert.equal(throttle.bannedFor(A), 10 * MINUTE);
  await assertBanned(throttle.begin(A, "ana"), 10 * MINUTE);
  clock.advance(4 * MINUTE);
  await assertBanned(throttle.begin(A, "zoe"), 6 * MINUTE);
  clock.advance(6 * MINUTE);
  assert.equal(throttle.bannedFor(A), 0);
  assert.equal(await fail(A), 0, "the count starts afresh");
});

Deno.test("LoginThrottle ban message names the time left", async () => {
  const { clock, throttle, fail } = setup();
  for (let i = 0; i < 5; i++) await fail(A);
  await assert.rejects(throttle.begin(A, "ana"), {
    message:
      "Too many failed logins from this address: try again in 10 minutes",
  });
  clock.advance(10 * MINUTE - 30_000);
  await assert.rejects(throttle.begin(A, "ana"), {
    message:
      "Too many failed logins from this address: try again in 30 seconds",
  });
});

Deno.test("LoginThrottle: logging into one's own account does not clear the failures against another", async () => {
  const { throttle, fail, succeed } = setup();
  let guesses = 0;
  for (let round = 0; round < 40; round++) {
    try {
      await fail(A, "victim");
      guesses++;
      await succeed(A, "attacker");
    } catch (error) {
      assert.ok(error instanceof LoginBannedError);
      break;
    }
  }
  assert.equal(guesses, 5, "5 guesses, then the address is banned");
  assert.equal(throttle.bannedFor(A), 10 * MINUTE);
  await assertBanned(throttle.begin(A, "attacker"), 10 * MINUTE);
});

Deno.test("LoginThrottle: a success clears that account's own failures from that address only", async () => {
  const { fail, succeed, throttle } = setup();
  for (let i = 0; i < 3; i++) await fail(A, "ana");
  await fail(A, "bob");
  assert.equal(await succeed(A, "ana"), 4000);
  assert.equal(await fail(A, "ana"), 500, "bob's failure still counts");
  for (let i = 0; i < 3; i++) await fail(A, "ana");
  assert.ok(throttle.bannedFor(A) > 0, "5 failures in all");
});

Deno.test("LoginThrottle counts failures per account across addresses and bans the account", async () => {
  const { throttle, fail } = setup({ maxAccountFailures: 6 });
  for (let i = 0; i < 6; i++) await fail(`192.0.2.${10 + (i % 3)}`, "ana");
  assert.equal(throttle.accountBannedFor("ana"), 10 * MINUTE);
  await assertBanned(
    throttle.begin("192.0.2.99", "ana"),
    10 * MINUTE,
    "account",
  );
  await assert.rejects(throttle.begin("192.0.2.99", "ana"), {
    message: "Too many failed logins for this account: try again in 10 minutes",
  });
  assert.equal(await fail("192.0.2.99", "bob"), 0, "other accounts go on");
});

Deno.test("LoginThrottle forgets failures older than the window", async () => {
  const { clock, throttle, fail } = setup();
  for (let i = 0; i < 4; i++) await fail(A);
  clock.advance(10 * MINUTE + 1);
  assert.equal(await fail(A), 0);
  assert.equal(throttle.bannedFor(A), 0);
});

Deno.test("LoginThrottle: attempts in flight are not failures, and right passwords in parallel all get in", async () => {
  const { throttle } = setup();
  const attempts = Array.from({ length: 8 }, () => throttle.begin(A, "ana"));
  assert.equal(throttle.waiting, 3, "5 in flight, 3 wait their turn");
  for (const attempt of attempts) (await attempt).succeeded();
  assert.equal(throttle.waiting, 0);
  assert.equal(throttle.bannedFor(A), 0);
  assert.equal((await throttle.begin(A, "ana")).delayMs, 0);
});

Deno.test("LoginThrottle: parallel wrong guesses make no more than the limit before the ban", async () => {
  const { throttle } = setup();
  const attempts = Array.from({ length: 12 }, () => throttle.begin(A, "ana"));
  const outcomes = await Promise.allSettled(
    attempts.map(async (attempt) => (await attempt).failed()),
  );
  const checked = outcomes.filter((o) => o.status === "fulfilled").length;
  assert.equal(checked, 5);
  for (const o of outcomes) {
    if (o.status === "rejected") {
      assert.ok(o.reason instanceof LoginBannedError);
    }
  }
});

Deno.test("LoginThrottle: a waiting attempt goes ahead when one in flight ends without a verdict", async () => {
  const { throttle, fail } = setup();
  for (let i = 0; i < 4; i++) await fail(A);
  const first = await throttle.begin(A, "ana");
  const second = throttle.begin(A, "ana");
  assert.equal(throttle.waiting, 1, "waits: one failure left, one in flight");
  first[Symbol.dispose]();
  const attempt = await second;
  assert.equal(attempt.delayMs, 4000);
  attempt.succeeded();
  assert.equal(throttle.bannedFor(A), 0);
});

Deno.test("LoginThrottle: an aborted wait leaves the queue", async () => {
  const { throttle, fail } = setup();
  for (let i = 0; i < 4; i++) await fail(A);
  const first = await throttle.begin(A, "ana");
  const controller = new AbortController();
  const waiting = throttle.begin(A, "ana", controller.signal);
  controller.abort(new Error("closed"));
  await assert.rejects(waiting, /closed/);
  assert.equal(throttle.waiting, 0);
  first.succeeded();
});

Deno.test("LoginThrottle keeps addresses apart", async () => {
  const { throttle, fail } = setup();
  for (let i = 0; i < 5; i++) await fail(A, "ana");
  assert.ok(throttle.bannedFor(A) > 0);
  assert.equal(throttle.bannedFor("192.0.2.2"), 0);
  assert.equal(await fail("192.0.2.2", "bob"), 0);
});

Deno.test("LoginThrottle treats an IPv6 /64 as one address", async () => {
  const { throttle, fail } = setup();
  for (let i = 0; i < 5; i++) await fail(`2001:db8:1:2::${i + 1}`);
  assert.ok(throttle.bannedFor("2001:db8:1:2:ffff::9") > 0);
  assert.equal(throttle.bannedFor("2001:db8:1:3::1"), 0);
});

Deno.test("LoginThrottle counts IPv4-mapped addresses and other IPv6 spellings as one address", async () => {
  const same = [
    ["::ffff:192.0.2.1", "192.0.2.1"],
    ["192.0.2.1", "::ffff:192.0.2.1"],
    ["2001:0db8:0001:0002:0:0:0:1", "[2001:db8:1:2::7]"],
    ["fe80::1%eth0", "fe80::2"],
  ];
  for (const [failing, asked] of same) {
    const { throttle, fail } = setup();
    for (let i = 0; i < 5; i++) await fail(failing!);
    assert.ok(throttle.bannedFor(asked!) > 0, `${failing} then ${asked}`);
  }
  const { throttle, fail } = setup();
  for (let i = 0; i < 5; i++) await fail("2001:db8::1");
  assert.equal(throttle.bannedFor("2001:db9::1"), 0);
});

Deno.test("LoginThrottle forgets the least recently seen addresses beyond maxTracked", async () => {
  const { throttle, fail } = setup({ maxTracked: 3 });
  for (let i = 0; i < 5; i++) await fail(A, "u1");
  assert.ok(throttle.bannedFor(A) > 0);
  for (let i = 2; i <= 5; i++) await fail(`192.0.2.${i}`, `u${i}`);
  assert.equal(throttle.tracked, 3);
  assert.equal(throttle.bannedFor(A), 0);
  assert.equal(await fail("192.0.2.5", "u5"), 500, "recent addresses are kept");
});

Deno.test("LoginThrottle refuses nonsensical options", () => {
  assert.throws(() => new LoginThrottle({ maxFailures: 0 }), RangeError);
  assert.throws(() => new LoginThrottle({ maxAccountFailures: 0 }), RangeError);
  assert.throws(() => new LoginThrottle({ baseDelayMs: -1 }), RangeError);
  assert.throws(() => new LoginThrottle({ banMs: NaN }), RangeError);
});
