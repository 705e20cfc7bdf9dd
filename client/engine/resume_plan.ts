/**
 * The client's side of a resumed upload (feature "resume", PROTOCOL.md
 * §13.2): given the length the server kept and the hashes of its blocks,
 * which blocks of the local file differ and must be sent again, and the
 * SHA-256 of the local file's first bytes, which the SHA-256 of the whole
 * file continues. A retry loop calls it again on every new PUT_READY.
 *
 * @module
 */

import {
  createStreamHash,
  type HashAlgorithm,
  type StreamHash,
} from "../../common/stream_hash.ts";
import {
  BlockHasher,
  decodeSums,
  differingBlocks,
} from "../../common/chunk_sums.ts";
import { ProtocolError } from "../../protocol/errors.ts";

/** A range of the file to send again: a whole block below the kept length. */
export interface BlockRange {
  at: number;
  readonly end: number;
}

/** What a resumed upload sends, decided by {@linkcode planResume}. */
export interface ResumePlan {
  /** The bytes the server kept; new data continues from here. */
  readonly offset: number;
  /** The blocks below `offset` whose hashes differ, in increasing order. */
  readonly rewrites: BlockRange[];
  /**
   * The hash of the local file's first `offset` bytes, in the algorithm
   * that verifies the upload, to be continued by the rest.
   */
  readonly hash: StreamHash;
}

/** What the server said in its PUT_READY. */
export interface KeptPart {
  readonly offset: number;
  readonly block: number;
  /** Base64 block hashes (checked by the protocol decoder). */
  readonly sums: string;
}

/** Bytes read at a time while the local file is hashed. */
const READ_SIZE = 1024 * 1024;

/**
 * Hashes the first `kept.offset` bytes of `file` (of `size` bytes) by
 * block, compares them with the server's, and returns the plan. Reads
 * with the file's cursor, which it leaves anywhere.
 *
 * @throws {ProtocolError} when the server kept more than the file's size.
 * @throws the signal's reason when aborted, and read errors.
 */
export async function planResume(
  file: Deno.FsFile,
  size: number,
  kept: KeptPart,
  signal?: AbortSignal,
  algorithm: HashAlgorithm = "sha256",
): Promise<ResumePlan> {
  if (kept.offset > size) {
    throw new ProtocolError(
      `The server kept ${kept.offset} bytes of a ${size}-byte upload`,
    );
  }
  const theirs = decodeSums(kept.sums);
  const hash = createStreamHash(algorithm);
  const blocks = new BlockHasher(kept.block);
  await file.seek(0, Deno.SeekMode.Start);
  const buffer = new Uint8Array(Math.min(READ_SIZE, Math.max(1, kept.offset)));
  let at = 0;
  while (at < kept.offset) {
    signal?.throwIfAborted();
    const view = buffer.subarray(
      0,
      Math.min(buffer.byteLength, kept.offset - at),
    );
    const n = await file.read(view);
    if (n === null) break;
    hash.update(view.subarray(0, n));
    blocks.update(view.subarray(0, n));
    at += n;
  }
  const rewrites = differingBlocks(blocks.finish(), theirs).map((i) => ({
    at: i * kept.block,
    end: Math.min((i + 1) * kept.block, kept.offset),
  }));
  return { offset: kept.offset, rewrites, hash };
}
