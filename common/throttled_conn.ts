/**
 * A connection held to bandwidth limits: the one place where both sides
 * apply common/rate_limit.ts. Writes go out in slices, each after its
 * tokens; reads take at most a slice and pay for it before the next read,
 * so a sender that outruns the limit is slowed by TCP's own backpressure.
 * Every byte counts, as it goes on the connection (DATA after
 * compression, replies and requests too); TLS adds its few bytes per
 * record on top.
 *
 * @module
 */

import type { ByteConn } from "./frame_conn.ts";
import type { ConnectionLimits, Throttle } from "./rate_limit.ts";

/**
 * `conn` held to `limits`, or `conn` itself when both directions are
 * unlimited. Closing it ends any wait for tokens at once. `onHeld` is
 * called after each wait for tokens: time the limit held the transfer
 * back, which the server's idle timeout must not count as the client's.
 */
export function throttled(
  conn: ByteConn,
  limits: ConnectionLimits,
  onHeld: () => void = () => {},
): ByteConn {
  if (limits.read === null && limits.write === null) return conn;
  return new ThrottledConn(conn, limits, onHeld);
}

class ThrottledConn implements ByteConn {
  readonly #conn: ByteConn;
  readonly #read: Throttle | null;
  readonly #write: Throttle | null;
  readonly #onHeld: () => void;
  readonly #closed = new AbortController();

  constructor(conn: ByteConn, limits: ConnectionLimits, onHeld: () => void) {
    this.#conn = conn;
    this.#read = limits.read;
    this.#write = limits.write;
    this.#onHeld = onHeld;
  }

  async read(p: Uint8Array): Promise<number | null> {
    const throttle = this.#read;
    if (throttle === null) return this.#conn.read(p);
    const n = await this.#conn.read(p.subarray(0, throttle.slice));
    if (n !== null && n > 0) await this.#take(throttle, n);
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    const throttle = this.#write;
    if (throttle === null) return this.#conn.write(p);
    const n = Math.min(p.byteLength, throttle.slice);
    await this.#take(throttle, n);
    return this.#conn.write(p.subarray(0, n));
  }

  async #take(throttle: Throttle, bytes: number): Promise<void> {
    if (await throttle.take(bytes, this.#closed.signal) > 0) this.#onHeld();
  }

  close(): void {
    this.#closed.abort(new Deno.errors.BadResource("The connection is closed"));
    this.#conn.close();
  }
}
