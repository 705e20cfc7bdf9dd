/**
 * Frame layer of the fts protocol: a fixed 16-byte header followed by a
 * bounded payload. Pure: bytes in, frames out; no sockets, no files.
 *
 * ```
 * offset size field
 *  0     2    magic "FT" (0x46 0x54)
 *  2     1    version (FRAME_VERSION)
 *  3     1    type (see MSG in messages.ts)
 *  4     1    flags
 *  5     3    reserved, must be zero
 *  8     4    request id, u32 big-endian
 * 12     4    payload length, u32 big-endian, <= MAX_PAYLOAD
 * ```
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";

/** The two magic bytes "FT" as a big-endian u16. */
export const MAGIC = 0x4654;
/** The framing version every header carries. */
export const FRAME_VERSION = 1;
/**
 * The ALPN protocol name both sides announce inside TLS, so that fts never
 * talks to another TLS service by mistake.
 */
export const FTS_ALPN = "fts/1";
/** The TCP port a server listens on and a client connects to unless told otherwise. */
export const DEFAULT_PORT = 12345;
/** Size of the fixed frame header in bytes. */
export const HEADER_SIZE = 16;
/** Largest payload a frame may carry (4 MiB); checked before any allocation. */
export const MAX_PAYLOAD = 4 * 1024 * 1024;

/** A decoded frame. `payload` may be a view into a reusable buffer. */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly payload: Uint8Array;
}

/** The fields of a header, as returned by {@linkcode parseHeader}. */
export interface FrameHeader {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly length: number;
}

/**
 * Writes a header into `target` at `at` (default 0).
 *
 * @throws {RangeError} if a field is out of range or `target` is too short.
 * @example
 * ```ts
 * const buf = new Uint8Array(HEADER_SIZE);
 * writeHeader(buf, { type: 0x10, flags: 0, id: 7, length: 0 });
 * ```
 */
export function writeHeader(
  target: Uint8Array,
  header: FrameHeader,
  at = 0,
): void {
  if (target.byteLength - at < HEADER_SIZE) {
    throw new RangeError("Frame header does not fit in the target buffer");
  }
  checkU8("type", header.type);
  checkU8("flags", header.flags);
  if (!Number.isInteger(header.id) || header.id < 0 || header.id > 0xffffffff) {
    throw new RangeError(`Frame id ${header.id} is not a u32`);
  }
  if (
    !Number.isInteger(header.length) || header.length < 0 ||
    header.length > MAX_PAYLOAD
  ) {
    throw new RangeError(
      `Frame payload of ${header.length} bytes exceeds ${MAX_PAYLOAD}`,
    );
  }
  const view = new DataView(target.buffer, target.byteOffset + at, HEADER_SIZE);
  view.setUint16(0, MAGIC);
  view.setUint8(2, FRAME_VERSION);
  view.setUint8(3, header.type);
  view.setUint8(4, header.flags);
  view.setUint8(5, 0);
  view.setUint16(6, 0);
  view.setUint32(8, header.id);
  view.setUint32(12, header.length);
}

/**
 * Parses and validates a header from the first {@linkcode HEADER_SIZE} bytes
 * of `bytes`.
 *
 * @throws {ProtocolError} on bad magic, wrong version, non-zero reserved
 * bytes or a length above {@linkcode MAX_PAYLOAD}.
 */
export function parseHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.byteLength < HEADER_SIZE) {
    throw new RangeError("A frame header needs 16 bytes");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  if (view.getUint16(0) !== MAGIC) {
    throw new ProtocolError("Bad frame magic: peer does not speak fts");
  }
  const version = view.getUint8(2);
  if (version !== FRAME_VERSION) {
    throw new ProtocolError(`Unsupported frame version ${version}`);
  }
  if (view.getUint8(5) !== 0 || view.getUint16(6) !== 0) {
    throw new ProtocolError("Reserved frame header bytes are not zero");
  }
  const length = view.getUint32(12);
  if (length > MAX_PAYLOAD) {
    throw new ProtocolError(
      `Frame payload of ${length} bytes exceeds the limit of ${MAX_PAYLOAD}`,
    );
  }
  return {
    type: view.getUint8(3),
    flags: view.getUint8(4),
    id: view.getUint32(8),
    length,
  };
}

/**
 * Encodes one frame into a new buffer.
 *
 * @example
 * ```ts
 * const bytes = encodeFrame({ type: 0x10, flags: 0, id: 1, payload: new Uint8Array() });
 * ```
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + frame.payload.byteLength);
  writeHeader(out, { ...frame, length: frame.payload.byteLength });
  out.set(frame.payload, HEADER_SIZE);
  return out;
}

function checkU8(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new RangeError(`Frame ${name} ${value} is not a u8`);
  }
}
