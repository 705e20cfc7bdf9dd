import assert from "node:assert/strict";
import {
  backoffDelay,
  connectRetryReason,
  MAX_DELAY_MS,
  operationRetryReason,
  type RetryEvent,
  type SessionState,
  withRetries,
} from "../../../client/engine/retry.ts";
import { type ErrorCode, FtsError } from "../../../protocol/errors.ts";
import { ConnectError } from "../../../client/connect/connect_error.ts";
import { ManualClock } from "../../_helpers/common/manual_clock.ts";

const LOST: SessionState = { lost: true, goingAway: null };
const UP: SessionState = { lost: false, goingAway: null };

const lostError = () =>
  new FtsError("io", 'Cannot put "a": the connection to the server was lost');

Deno.test("backoffDelay() doubles from 1 s, stays within 30 s, and jitters between half and all of it", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelay(n, () => 1)),
    [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000],
  );
  assert.deepEqual(
    [1, 2, 3, 6].map((n) => backoffDelay(n, () => 0)),
    [500, 1_000, 2_000, 15_000],
  );
  for (let attempt = 1; attempt <= 200; attempt++) {
    const delay = backoffDelay(attempt);
    assert.ok(delay >= 100 && delay <= MAX_DELAY_MS, `${attempt}: ${delay}`);
  }
  assert.throws(() => backoffDelay(0), RangeError);
});

Deno.test("operationRetryReason() retries only what a new connection can fix", () => {
  assert.equal(operationRetryReason(lostError(), LOST), "connection_lost");
  assert.equal(
    operationRetryReason(new FtsError("timeout", "no progress"), LOST),
    "stalled",
  );
  assert.equal(
    operationRetryReason(new FtsError("shutting_down", "bye"), UP),
    "going_away",
  );
  assert.equal(
    operationRetryReason(lostError(), {
      lost: true,
      goingAway: { graceMs: 0, reason: "" },
    }),
    "going_away",
  );
  // A local disk's I/O error while the connection is up is final.
  assert.equal(operationRetryReason(lostError(), UP), null);
  const final: ErrorCode[] = [
    "quota_exceeded",
    "permission_denied",
    "not_found",
    "invalid_name",
    "auth_failed",
    "auth_required",
    "checksum_mismatch",
    "no_space",
    "exists",
    "protocol",
    "cancelled",
  ];
  for (const code of final) {
    assert.equal(
      operationRetryReason(new FtsError(code, "refused"), LOST),
      null,
      code,
    );
  }
  assert.equal(operationRetryReason(new Error("bug"), LOST), null);
  // A batch: one of its files was cut off.
  const batch = new FtsError("exists", "Cannot put 2 of 3 files", {
    cause: new AggregateError([new FtsError("exists", "x"), lostError()]),
  });
  assert.equal(operationRetryReason(batch, LOST), "connection_lost");
});

Deno.test("connectRetryReason() retries a refused or reset connection and a busy server, not a refused identity or login", () => {
  const at = "127.0.0.1:1";
  for (const failure of ["refused", "reset", "closed", "timed_out"] as const) {
    assert.equal(
      connectRetryReason(new ConnectError(at, failure)),
      "connect_failed",
    );
  }
  assert.equal(
    connectRetryReason(
      new ConnectError(at, "refused_by_server", { code: "busy" }),
    ),
    "connect_failed",
  );
  assert.equal(
    connectRetryReason(
      new ConnectError(at, "refused_by_server", { code: "auth_failed" }),
    ),
    null,
  );
  assert.equal(connectRetryReason(new ConnectError(at, "not_fts")), null);
  assert.equal(
    connectRetryReason(new FtsError("auth_failed", "identity refused")),
    null,
  );
});

/** A fake operation failing with `failures` in turn, then succeeding. */
function scripted(failures: unknown[]) {
  let runs = 0;
  return {
    get runs() {
      return runs;
    },
    run: () => {
      const failure = failures[runs++];
      return failure === undefined
        ? Promise.resolve("done")
        : Promise.reject(failure);
    },
  };
}

Deno.test("withRetries() waits, reconnects and runs again after a lost connection, on the injected clock", async () => {
  const clock = new ManualClock();
  const op = scripted([lostError(), lostError()]);
  const events: RetryEvent[] = [];
  let reconnects = 0;
  const result = withRetries(op.run, {
    retries: 5,
    reason: (error) => operationRetryReason(error, LOST),
    reconnect: () => {
      reconnects++;
      return Promise.resolve();
    },
    onRetry: (event) => events.push(event),
    clock,
    random: () => 1,
  });
  await clock.timerSet(1_000);
  assert.equal(reconnects, 0, "no reconnection before the wait");
  clock.advance(1_000);
  await clock.timerSet(2_000);
  assert.equal(reconnects, 1);
  clock.advance(2_000);
  assert.equal(await result, "done");
  assert.equal(op.runs, 3);
  assert.equal(reconnects, 2);
  assert.deepEqual(
    events.map((e) => [e.attempt, e.retries, e.delayMs, e.reason]),
    [[1, 5, 1_000, "connection_lost"], [2, 5, 2_000, "connection_lost"]],
  );
});

Deno.test("withRetries() never retries a refusal, nor anything with --retries 0", async () => {
  for (
    const [retries, error] of [
      [5, new FtsError("quota_exceeded", 'Cannot put "a": quota exceeded')],
      [5, new FtsError("permission_denied", 'Cannot put "a": denied')],
      [5, new FtsError("not_found", 'Cannot get "a": no such file')],
      [5, new FtsError("checksum_mismatch", 'Cannot get "a": bad hash')],
      [0, lostError()],
    ] as const
  ) {
    const clock = new ManualClock();
    const op = scripted([error]);
    let reconnects = 0;
    await assert.rejects(
      withRetries(op.run, {
        retries,
        reason: (e) => operationRetryReason(e, LOST),
        reconnect: () => Promise.resolve(void reconnects++),
        clock,
      }),
      (thrown) => thrown === error,
    );
    assert.equal(op.runs, 1, error.code);
    assert.equal(reconnects, 0);
    assert.equal(clock.pendingTimers, 0);
  }
});

Deno.test("withRetries() counts failed reconnections as tries and gives up with the last failure", async () => {
  const clock = new ManualClock();
  const op = scripted([lostError()]);
  const refused = new ConnectError("127.0.0.1:1", "refused");
  const events: RetryEvent[] = [];
  const result = withRetries(op.run, {
    retries: 3,
    reason: (e) => operationRetryReason(e, LOST),
    reconnect: () => Promise.reject(refused),
    onRetry: (event) => events.push(event),
    clock,
    random: () => 1,
  });
  const settled = result.catch((error) => error);
  for (const ms of [1_000, 2_000, 4_000]) {
    await clock.timerSet(ms);
    clock.advance(ms);
  }
  assert.equal(await settled, refused);
  assert.equal(op.runs, 1);
  assert.deepEqual(
    events.map((e) => [e.attempt, e.reason]),
    [[1, "connection_lost"], [2, "connect_failed"], [3, "connect_failed"]],
  );
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("withRetries() stops at a reconnection refused for good (a changed server identity)", async () => {
  const clock = new ManualClock();
  const op = scripted([lostError()]);
  const identity = new FtsError("auth_failed", "WARNING: identity changed");
  const result = withRetries(op.run, {
    retries: 5,
    reason: (e) => operationRetryReason(e, LOST),
    reconnect: () => Promise.reject(identity),
    clock,
    random: () => 1,
  }).catch((error) => error);
  await clock.timerSet(1_000);
  clock.advance(1_000);
  assert.equal(await result, identity);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("withRetries() gives up during a wait when its signal aborts", async () => {
  const clock = new ManualClock();
  const stop = new AbortController();
  const error = lostError();
  let reconnects = 0;
  const result = withRetries(scripted([error]).run, {
    retries: 5,
    reason: (e) => operationRetryReason(e, LOST),
    reconnect: () => Promise.resolve(void reconnects++),
    signal: stop.signal,
    clock,
    random: () => 0.5,
  }).catch((thrown) => thrown);
  await clock.timerSet(backoffDelay(1, () => 0.5));
  stop.abort();
  assert.equal(await result, error);
  assert.equal(reconnects, 0);
  assert.equal(clock.pendingTimers, 0);
});
