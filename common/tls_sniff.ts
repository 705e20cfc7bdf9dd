/**
 * Telling a TLS peer from an fts peer by the first byte it sends, so that a
 * `--no-tls` mismatch gets a clear message instead of "bad frame magic".
 * A TLS connection starts with a handshake record (type 0x16) from the
 * client, and a TLS server answers bytes it cannot parse with an alert
 * record (type 0x15); an fts frame starts with "F" (0x46).
 *
 * @module
 */

import type { ByteConn } from "./frame_conn.ts";

/** TLS record type of a handshake message (a ClientHello opens every TLS connection). */
const TLS_HANDSHAKE_RECORD = 0x16;
/** TLS record type of an alert (what a TLS server sends back to plain bytes). */
const TLS_ALERT_RECORD = 0x15;

/** Tells whether `byte`, the first one received, starts a TLS record. */
export function isTlsRecordStart(byte: number): boolean {
  return byte === TLS_HANDSHAKE_RECORD || byte === TLS_ALERT_RECORD;
}

/**
 * A {@linkcode ByteConn} that shows the first byte it reads to `onFirstByte`,
 * which may throw to fail that read (and so the frame being read). Every
 * later read goes straight through.
 *
 * @example
 * ```ts
 * const conn = new SniffingConn(tcp, (byte) => {
 *   if (isTlsRecordStart(byte)) throw new Error("the server uses TLS");
 * });
 * ```
 */
export class SniffingConn implements ByteConn {
  readonly #inner: ByteConn;
  #onFirstByte: ((byte: number) => void) | null;

  constructor(inner: ByteConn, onFirstByte: (byte: number) => void) {
    this.#inner = inner;
    this.#onFirstByte = onFirstByte;
  }

  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.#inner.read(p);
    const check = this.#onFirstByte;
    if (check !== null && n !== null && n > 0) {
      this.#onFirstByte = null;
      check(p[0]!);
    }
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    return this.#inner.write(p);
  }

  close(): void {
    this.#inner.close();
  }
}
