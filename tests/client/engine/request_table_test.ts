import assert from "node:assert/strict";
import { RequestTable } from "../../../client/engine/request_table.ts";
import { ProtocolError } from "../../../protocol/errors.ts";

Deno.test("RequestTable.open() hands out distinct non-zero ids and reuses finished ones last", () => {
  const table = new RequestTable();
  const a = table.open();
  const b = table.open();
  assert.deepEqual([a.id, b.id], [1, 2]);
  a.finish();
  assert.equal(
    table.open().id,
    3,
    "ids are not reused while fresh ones remain",
  );
  assert.equal(table.size, 2);
  assert.equal(table.get(1), undefined);
});

Deno.test("PendingRequest queues replies until read, and next() waits for one", async () => {
  const table = new RequestTable();
  const request = table.open();
  request.deliver({ type: "ok", id: request.id });
  assert.deepEqual(await request.next(), { type: "ok", id: request.id });
  const waiting = request.next();
  request.deliver({ type: "pong", id: request.id });
  assert.deepEqual(await waiting, { type: "pong", id: request.id });
});

Deno.test("PendingRequest refuses DATA without a sink, and next() honours an abort", async () => {
  const table = new RequestTable();
  const request = table.open();
  assert.throws(
    () =>
      request.deliver({
        type: "data",
        id: 1,
        offset: 0,
        bytes: new Uint8Array(),
        zstd: false,
      }),
    ProtocolError,
  );
  const controller = new AbortController();
  const waiting = request.next(controller.signal);
  controller.abort();
  await assert.rejects(waiting, { name: "AbortError" });
});

Deno.test("RequestTable.failAll() fails waiting and later requests alike", async () => {
  const table = new RequestTable();
  const request = table.open();
  const waiting = request.next();
  const lost = new Error("lost");
  table.failAll(lost);
  await assert.rejects(waiting, lost);
  await assert.rejects(request.next(), lost);
  assert.throws(() => table.open(), lost);
});

Deno.test("PendingRequest.drain() keeps the id until the last reply arrives", () => {
  const table = new RequestTable();
  const request = table.open();
  assert.equal(request.drain((m) => m.type === "error"), false);
  request.deliver({
    type: "data",
    id: request.id,
    offset: 0,
    bytes: new Uint8Array(1),
    zstd: false,
  });
  assert.ok(request.open);
  request.deliver({
    type: "error",
    id: request.id,
    code: "cancelled",
    message: "x",
  });
  assert.equal(request.open, false);
});
