/**
 * Per-chunk zstd compression for DATA frames (feature "zstd"), one policy
 * for both directions: the client's uploads and the server's downloads.
 * `--compress auto`, the default, is this policy; it sends a chunk
 * compressed only when that makes the transfer faster:
 *
 * - Only when the link is slower than compressing. Compressing text costs
 *   about 3 to 13 ms per MiB at level 1 here, slower than a loopback or
 *   LAN link takes raw bytes. The connection measures how fast its writes
 *   drain ({@linkcode Link.drainRate}: a write that fits the socket's
 *   buffer returns at once, one that does not waits for the link), and
 *   the compressor measures its own speed; a chunk is sent raw while the
 *   link drains more than half as fast as the compressor works. A write
 *   of compressed bytes that fits the buffers tells nothing of the link,
 *   so once raw chunks have shown the link to be slower, the connection
 *   remembers the lowest rate seen from then on and compresses while that
 *   is slow: without it, compressed chunks that no longer fill the buffers
 *   would make a slow link look fast, and megabytes would go raw until the
 *   buffers were full again. The remembered rate rises by 1/50 per chunk,
 *   so after about 150 chunks at 20 times the link's rate raw chunks
 *   measure the link again. The compressor's speed and that memory are
 *   kept per connection, so a new file does not learn them again.
 * - Only when the data shrinks. The compressor first tries a 16 KiB sample
 *   from the middle of the chunk and only compresses the chunk when the
 *   sample shrinks to 90 % or less; a chunk is sent compressed only when
 *   that saves at least 1/16 of its bytes (less is not worth the peer's
 *   decompression). After a chunk that did not qualify it skips the test
 *   for the next 1, 2, 4… up to 32 chunks, so a video or an archive costs
 *   about 3 µs per MiB (measured), nothing beside hashing it (about
 *   2 ms per MiB).
 *
 * @module
 */

import * as zlib from "node:zlib";
import { ProtocolError } from "../protocol/errors.ts";

const LEVEL = { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } };
const SAMPLE = 16 * 1024;
/** A sample must shrink to this share of its size to try the whole chunk. */
const SAMPLE_RATIO = 0.9;
const MAX_SKIP = 32;
/** A chunk is sent compressed only if that saves at least 1/2^this of it. */
const MIN_SAVING_SHIFT = 4;
/** Compress only while the compressor is this many times faster than the link. */
const LINK_MARGIN = 2;
/** Weight of the past in the compressor's measured speed, per chunk. */
const SPEED_DECAY = 3 / 4;
/** How much the remembered slow rate of a link rises per decision. */
const SLOW_RISE = 1.02;

/** What the policy asks of the connection it sends on (a FrameConn). */
export interface Link {
  /**
   * How fast the connection took bytes lately, in bytes per millisecond;
   * null before it wrote anything.
   */
  readonly drainRate: number | null;
}

/** What one connection's compressors learn and share. */
interface Speed {
  /** The compressor's measured speed, in decaying sums. */
  bytes: number;
  ms: number;
  /** The last chunk was sent raw because the link looked faster. */
  rawForLink: boolean;
  /**
   * The link's lowest drain rate since raw chunks showed it slower than
   * compressing (bytes per ms, rising by SLOW_RISE per decision), or null.
   */
  slow: number | null;
}

const speeds = new WeakMap<Link, Speed>();

/** Decides chunk by chunk whether compressing is worth it, for one file. */
export class ChunkCompressor {
  readonly #link: Link | null;
  readonly #speed: Speed;
  #skip = 0;
  #backoff = 1;
  /** Chunks sent compressed so far. */
  compressed = 0;

  /**
   * @param link the connection the chunks are sent on; without one, every
   * chunk that shrinks enough is compressed, whatever the link's speed.
   */
  constructor(link?: Link) {
    this.#link = link ?? null;
    let speed = link ? speeds.get(link) : undefined;
    if (!speed) {
      speed = { bytes: 0, ms: 0, rawForLink: false, slow: null };
      if (link) speeds.set(link, speed);
    }
    this.#speed = speed;
  }

  /**
   * The zstd frame for `chunk` when compressing it pays (see the module
   * comment), or null to send the chunk raw.
   */
  compress(chunk: Uint8Array): Uint8Array | null {
    if (chunk.byteLength < 512) return null;
    if (this.#skip > 0) {
      this.#skip--;
      return null;
    }
    if (this.#linkIsFaster()) return null;
    if (chunk.byteLength > 4 * SAMPLE) {
      const at = (chunk.byteLength - SAMPLE) >> 1;
      const sample = zlib.zstdCompressSync(
        chunk.subarray(at, at + SAMPLE),
        LEVEL,
      );
      if (sample.byteLength > SAMPLE * SAMPLE_RATIO) {
        return this.#incompressible();
      }
    }
    const started = performance.now();
    const out = zlib.zstdCompressSync(chunk, LEVEL);
    const speed = this.#speed;
    speed.bytes = speed.bytes * SPEED_DECAY + chunk.byteLength;
    speed.ms = speed.ms * SPEED_DECAY + (performance.now() - started);
    const n = chunk.byteLength;
    if (out.byteLength > n - (n >> MIN_SAVING_SHIFT)) {
      return this.#incompressible();
    }
    this.#backoff = 1;
    this.compressed++;
    return out;
  }

  /**
   * True when the link takes raw bytes faster than compressing would help
   * (see the module comment for the remembered slow rate).
   */
  #linkIsFaster(): boolean {
    const drain = this.#link?.drainRate ?? null;
    const speed = this.#speed;
    if (drain === null || speed.bytes === 0) return false;
    if (speed.slow !== null) {
      speed.slow = Math.min(speed.slow * SLOW_RISE, drain);
    }
    const rate = speed.slow ?? drain;
    const faster = speed.bytes / Math.max(speed.ms, 1e-3) < LINK_MARGIN * rate;
    if (faster) {
      speed.slow = null;
    } else if (speed.rawForLink) {
      speed.slow = Math.min(speed.slow ?? Infinity, drain);
    }
    speed.rawForLink = faster;
    return faster;
  }

  #incompressible(): null {
    this.#skip = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, MAX_SKIP);
    return null;
  }
}

/**
 * Decompresses one zstd chunk received in a DATA frame, refusing output
 * larger than `maxBytes` (a decompression bomb): a protocol error on both
 * sides.
 *
 * @throws {ProtocolError} for invalid or oversized data.
 */
export function decompressChunk(
  bytes: Uint8Array,
  maxBytes: number,
): Uint8Array {
  try {
    return zlib.zstdDecompressSync(bytes, { maxOutputLength: maxBytes });
  } catch (cause) {
    if (cause instanceof RangeError) {
      throw new ProtocolError(
        `A zstd chunk decompresses to more than ${maxBytes} bytes`,
        {
          cause,
        },
      );
    }
    throw new ProtocolError("A zstd chunk is not valid zstd data", { cause });
  }
}
