import assert from "node:assert/strict";
import type { ByteConn } from "../../common/frame_conn.ts";
import { isTlsRecordStart, SniffingConn } from "../../common/tls_sniff.ts";

/** A connection that returns `chunks` one read at a time, then the end. */
function scripted(chunks: number[][]): ByteConn & { closed: boolean } {
  const queue = chunks.map((c) => Uint8Array.from(c));
  return {
    closed: false,
    read(p: Uint8Array) {
      const next = queue.shift();
      if (!next) return Promise.resolve(null);
      p.set(next);
      return Promise.resolve(next.byteLength);
    },
    write: (p: Uint8Array) => Promise.resolve(p.byteLength),
    close() {
      this.closed = true;
    },
  };
}

Deno.test("isTlsRecordStart() knows a ClientHello and an alert from an fts frame", () => {
  assert.equal(isTlsRecordStart(0x16), true); // handshake record (RFC 8446)
  assert.equal(isTlsRecordStart(0x15), true); // alert record
  assert.equal(isTlsRecordStart(0x46), false); // "F" of the frame magic
  assert.equal(isTlsRecordStart(0x17), false); // application data
});

Deno.test("SniffingConn shows only the first byte read, and passes every read through", async () => {
  const seen: number[] = [];
  const inner = scripted([[0x46, 0x54], [0x16], [1, 2, 3]]);
  const conn = new SniffingConn(inner, (b) => seen.push(b));
  const buf = new Uint8Array(8);
  assert.equal(await conn.read(buf), 2);
  assert.deepEqual([...buf.subarray(0, 2)], [0x46, 0x54]);
  assert.equal(await conn.read(buf), 1);
  assert.equal(await conn.read(buf), 3);
  assert.equal(await conn.read(buf), null);
  assert.deepEqual(seen, [0x46]);
  assert.equal(await conn.write(new Uint8Array(5)), 5);
  conn.close();
  assert.equal(inner.closed, true);
});

Deno.test("SniffingConn fails the first read when its check throws, and skips empty reads", async () => {
  const inner = scripted([[], [0x15, 3, 3]]);
  const conn = new SniffingConn(inner, (b) => {
    if (isTlsRecordStart(b)) throw new Error("the peer speaks TLS");
  });
  const buf = new Uint8Array(8);
  assert.equal(await conn.read(buf), 0);
  await assert.rejects(conn.read(buf), /the peer speaks TLS/);
  assert.equal(await conn.read(buf), null);
});
