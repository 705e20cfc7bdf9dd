/**
 * Per-chunk zstd compression for DATA frames (feature "zstd"), one policy
 * for both directions: the client's uploads and the server's downloads.
 *
 * Compressing costs about 0.85 ms per MiB of incompressible data here, more
 * than hashing it, so the compressor first tries a 16 KiB sample from the
 * middle of the chunk and only compresses the chunk when the sample shrinks
 * well. A chunk is sent compressed only when that saves at least 1/16 of
 * its bytes (less is not worth the peer's decompression). After a chunk that
 * did not qualify it skips the test for the next 1, 2, 4… up to 32 chunks,
 * so a video or archive costs almost nothing extra.
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

/** Decides chunk by chunk whether compressing is worth it. */
export class ChunkCompressor {
  #skip = 0;
  #backoff = 1;
  /** Chunks sent compressed so far. */
  compressed = 0;

  /**
   * The zstd frame for `chunk` when it saves at least 1/16 of the chunk's
   * bytes, or null to send the chunk raw.
   */
  compress(chunk: Uint8Array): Uint8Array | null {
    if (chunk.byteLength < 512) return null;
    if (this.#skip > 0) {
      this.#skip--;
      return null;
    }
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
    const out = zlib.zstdCompressSync(chunk, LEVEL);
    const n = chunk.byteLength;
    if (out.byteLength > n - (n >> MIN_SAVING_SHIFT)) {
      return this.#incompressible();
    }
    this.#backoff = 1;
    this.compressed++;
    return out;
  }

  #incompressible(): null {
    this.#skip = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, MAX_SKIP);
    return null;
  }
}

/**
 * Decompresses one zstd chunk received in a DATA frame, refusing output
 * larger than `maxBytes` (a decompression bomb).
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
