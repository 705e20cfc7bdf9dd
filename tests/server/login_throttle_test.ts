import assert from "node:assert/strict";
import { FtsError } from "../../protocol/errors.ts";
import {
  LoginBannedError,
  LoginThrottle,
  type LoginThrottleOptions,
  throttleKey,
} from "../../server/login_throttle.ts";

const MINUTE = 60_000;

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
  /** One failed login: admit, then fail; returns the delay. */
  const fail = (addr: string) => {
    throttle.admit(addr);
    return throttle.failed(addr);
  };
  return { clock, throttle, fail };
}

function assertBanned(fn: () => void, retryAfterMs: number): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof LoginBannedError);
    assert.ok(error instanceof FtsError);
    assert.equal(error.code, "auth_failed");
    assert.equal(error.retryAfterMs, retryAfterMs);
    assert.match(error.message, /^Too many failed logins from this address/);
    return true;
  });
}

Deno.test("LoginThrottle.failed() returns a delay that doubles after each failure", () => {
  const { fail } = setup();
  assert.deepEqual(
    [1, 2, 3, 4].map(() => fail("192.0.2.1")),
    [500, 1000, 2000, 4000],
  );
});

Deno.test("LoginThrottle.failed() caps the delay at maxDelayMs", () => {
  const { fail } = setup({ maxFailures: 20, maxDelayMs: 3000 });
  const delays = Array.from({ length: 8 }, () => fail("192.0.2.1"));
  assert.deepEqual(delays, [500, 1000, 2000, 3000, 3000, 3000, 3000, 3000]);
});

Deno.test("LoginThrottle bans an address after 5 failures for 10 minutes, then lets it in", () => {
  const { clock, throttle, fail } = setup();
  for (let i = 0; i < 4; i++) fail("192.0.2.1");
  assert.equal(throttle.bannedFor("192.0.2.1"), 0);
  assert.equal(fail("192.0.2.1"), 8000);
  assert.equal(throttle.bannedFor("192.0.2.1"), 10 * MINUTE);
  assertBanned(() => throttle.admit("192.0.2.1"), 10 * MINUTE);
  clock.advance(4 * MINUTE);
  assertBanned(() => throttle.admit("192.0.2.1"), 6 * MINUTE);
  clock.advance(6 * MINUTE);
  assert.equal(throttle.bannedFor("192.0.2.1"), 0);
  throttle.admit("192.0.2.1");
  assert.equal(throttle.failed("192.0.2.1"), 500, "the count starts afresh");
});

Deno.test("LoginThrottle ban message names the time left", () => {
  const { clock, throttle, fail } = setup();
  for (let i = 0; i < 5; i++) fail("192.0.2.1");
  assert.throws(() => throttle.admit("192.0.2.1"), {
    message:
      "Too many failed logins from this address: try again in 10 minutes",
  });
  clock.advance(10 * MINUTE - 30_000);
  assert.throws(() => throttle.admit("192.0.2.1"), {
    message:
      "Too many failed logins from this address: try again in 30 seconds",
  });
});

Deno.test("LoginThrottle.succeeded() forgets the address's failures", () => {
  const { throttle, fail } = setup();
  for (let i = 0; i < 4; i++) fail("192.0.2.1");
  throttle.admit("192.0.2.1");
  throttle.succeeded("192.0.2.1");
  assert.equal(fail("192.0.2.1"), 500);
  for (let i = 0; i < 3; i++) fail("192.0.2.1");
  throttle.admit("192.0.2.1"); // a 5th attempt is still allowed
});

Deno.test("LoginThrottle forgets failures older than the window", () => {
  const { clock, throttle, fail } = setup();
  for (let i = 0; i < 4; i++) fail("192.0.2.1");
  clock.advance(10 * MINUTE + 1);
  assert.equal(fail("192.0.2.1"), 500);
  assert.equal(throttle.bannedFor("192.0.2.1"), 0);
});

Deno.test("LoginThrottle.admit() counts unfinished attempts, so parallel guesses hit the ban", () => {
  const { throttle } = setup();
  for (let i = 0; i < 5; i++) throttle.admit("192.0.2.1");
  assertBanned(() => throttle.admit("192.0.2.1"), 10 * MINUTE);
});

Deno.test("LoginThrottle keeps addresses apart", () => {
  const { throttle, fail } = setup();
  for (let i = 0; i < 5; i++) fail("192.0.2.1");
  assert.ok(throttle.bannedFor("192.0.2.1") > 0);
  assert.equal(throttle.bannedFor("192.0.2.2"), 0);
  assert.equal(fail("192.0.2.2"), 500);
});

Deno.test("LoginThrottle treats an IPv6 /64 as one address", () => {
  const { throttle, fail } = setup();
  for (let i = 0; i < 5; i++) fail(`2001:db8:1:2::${i + 1}`);
  assert.ok(throttle.bannedFor("2001:db8:1:2:ffff::9") > 0);
  assert.equal(throttle.bannedFor("2001:db8:1:3::1"), 0);
});

Deno.test("throttleKey() folds IPv4-mapped addresses and IPv6 spellings together", () => {
  assert.equal(throttleKey("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(throttleKey("192.0.2.1"), "192.0.2.1");
  assert.equal(
    throttleKey("2001:0db8:0001:0002:0:0:0:1"),
    throttleKey("[2001:db8:1:2::7]"),
  );
  assert.equal(throttleKey("fe80::1%eth0"), throttleKey("fe80::2"));
  assert.notEqual(throttleKey("2001:db8::1"), throttleKey("2001:db9::1"));
});

Deno.test("LoginThrottle forgets the least recently seen addresses beyond maxTracked", () => {
  const { throttle, fail } = setup({ maxTracked: 3 });
  for (let i = 0; i < 5; i++) fail("192.0.2.1");
  assert.ok(throttle.bannedFor("192.0.2.1") > 0);
  for (let i = 2; i <= 5; i++) fail(`192.0.2.${i}`);
  assert.equal(throttle.tracked, 3);
  assert.equal(throttle.bannedFor("192.0.2.1"), 0);
  assert.equal(fail("192.0.2.5"), 1000, "recent addresses are kept");
});

Deno.test("LoginThrottle refuses nonsensical options", () => {
  assert.throws(() => new LoginThrottle({ maxFailures: 0 }), RangeError);
  assert.throws(() => new LoginThrottle({ baseDelayMs: -1 }), RangeError);
  assert.throws(() => new LoginThrottle({ banMs: NaN }), RangeError);
});
