/**
 * Incremental frame decoder. Pure: the caller moves bytes in, either by
 * copying ({@linkcode FrameDecoder.push}) or by reading straight into the
 * decoder's own buffer ({@linkcode FrameDecoder.writable} then
 * {@linkcode FrameDecoder.commit}), which saves a copy on the hot path.
 *
 * The buffer grows only to fit a frame whose header has been validated, so
 * a peer can never make it allocate more than HEADER_SIZE + MAX_PAYLOAD as
 * long as the caller reads with `writable()`/`commit()` and takes complete
 * frames with `next()` before it reads more (as `common/frame_conn.ts` does).
 * `push()` copies the whole chunk it is given, so when the chunk runs past a
 * complete frame that has not been taken yet, the buffer grows by exactly
 * the rest of that chunk: memory the caller already holds, never more.
 *
 * @module
 */

import { type Frame, HEADER_SIZE, MAX_PAYLOAD, parseHeader } from "./frame.ts";

const INITIAL_CAPACITY = 64 * 1024;
const MIN_READ = 16 * 1024;
const MAX_CAPACITY = HEADER_SIZE + MAX_PAYLOAD;

/**
 * Joins split frames and splits coalesced ones.
 *
 * Payloads returned by {@linkcode next} are views into the decoder's buffer:
 * they stay valid until the next call to `writable()` or `push()`.
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder();
 * decoder.push(bytes);
 * for (let f = decoder.next(); f; f = decoder.next()) handle(f);
 * ```
 */
export class FrameDecoder {
  #buf: Uint8Array;
  #start = 0;
  #end = 0;

  /**
   * @param initialCapacity starting buffer size in bytes (default 64 KiB,
   * capped at HEADER_SIZE + MAX_PAYLOAD); the buffer grows as frames need.
   * @throws {RangeError} if `initialCapacity` is not a positive integer.
   */
  constructor(initialCapacity = INITIAL_CAPACITY) {
    if (!Number.isSafeInteger(initialCapacity) || initialCapacity < 1) {
      throw new RangeError(
        `Decoder capacity ${initialCapacity} is not a positive integer`,
      );
    }
    this.#buf = new Uint8Array(Math.min(initialCapacity, MAX_CAPACITY));
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Current size of the internal buffer in bytes (read-only; for tests and
   * metrics). It stays at most HEADER_SIZE + MAX_PAYLOAD when frames are
   * taken as they complete.
   */
  get capacity(): number {
    return this.#buf.byteLength;
  }

  /**
   * Space to read into; call {@linkcode commit} with the count read. Makes
   * room for the whole pending frame when its header is already buffered.
   */
  writable(): Uint8Array {
    this.#makeRoom(Math.max(this.#pendingFrameSize(), MIN_READ));
    return this.#buf.subarray(this.#end);
  }

  /** Records that `n` bytes were read into {@linkcode writable}'s buffer. */
  commit(n: number): void {
    if (!Number.isInteger(n) || n < 0 || this.#end + n > this.#buf.byteLength) {
      throw new RangeError(`Cannot commit ${n} bytes`);
    }
    this.#end += n;
  }

  /** Copies `chunk` in. */
  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const space = this.writable();
      const n = Math.min(space.byteLength, chunk.byteLength - offset);
      space.set(chunk.subarray(offset, offset + n));
      this.commit(n);
      offset += n;
      if (
        offset < chunk.byteLength && this.#pendingFrameSize() <= this.buffered
      ) {
        // The buffer is full of complete frames the caller has not taken
        // yet: grow by exactly the rest of the chunk rather than drop bytes
        // (doubling here would let one extra byte cost HEADER_SIZE +
        // MAX_PAYLOAD more memory).
        this.#grow(this.buffered + chunk.byteLength - offset);
      }
    }
  }

  /**
   * Returns the next complete frame, or null if more bytes are needed.
   *
   * @throws {ProtocolError} if the buffered header is invalid.
   */
  next(): Frame | null {
    const available = this.#end - this.#start;
    if (available < HEADER_SIZE) return null;
    const header = parseHeader(this.#buf.subarray(this.#start));
    const size = HEADER_SIZE + header.length;
    if (available < size) return null;
    const payload = this.#buf.subarray(
      this.#start + HEADER_SIZE,
      this.#start + size,
    );
    this.#start += size;
    return { type: header.type, flags: header.flags, id: header.id, payload };
  }

  /** Size of the frame whose header is buffered, or 0 when none is. */
  #pendingFrameSize(): number {
    if (this.#end - this.#start < HEADER_SIZE) return HEADER_SIZE;
    return HEADER_SIZE + parseHeader(this.#buf.subarray(this.#start)).length;
  }

  #makeRoom(needed: number): void {
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
    const free = this.#buf.byteLength - this.#end;
    const frameRoom = this.#buf.byteLength - this.#start;
    if (free >= MIN_READ && frameRoom >= needed) return;
    if (this.#buf.byteLength < needed) {
      this.#grow(needed);
    } else if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#buf.byteLength - this.#end < 1) {
      this.#grow(this.#buf.byteLength * 2);
    }
  }

  #grow(atLeast: number): void {
    let capacity = this.#buf.byteLength;
    while (capacity < atLeast) capacity *= 2;
    capacity = Math.max(atLeast, Math.min(capacity, MAX_CAPACITY));
    const next = new Uint8Array(capacity);
    next.set(this.#buf.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buf = next;
  }
}
