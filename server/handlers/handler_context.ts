/**
 * What a request handler gets from its session.
 *
 * @module
 */

import type { FrameConn } from "../../common/frame_conn.ts";
import type { Semaphore } from "../../common/semaphore.ts";
import type { Storage } from "../storage/storage.ts";
import type { UsageReport } from "../storage/quota.ts";

/** Turns of one owner: what a request handler is given. */
export interface Turns {
  /**
   * Waits for this job's turn; the returned disposable ends it.
   *
   * @throws the signal's reason if `signal` aborts first.
   */
  take(signal: AbortSignal): Promise<Disposable>;
}

/** The session's connection and settings, shared by its request handlers. */
export interface HandlerContext {
  /** The connection; its writes are serialised across handlers. */
  readonly conn: FrameConn;
  /** Where files live. */
  readonly storage: Storage;
  /** The logged-in account, or null (anonymous); absent: always anonymous. */
  readonly account?: () => string | null;
  /** What USAGE answers for an account; absent: nothing to report. */
  readonly usage?: (account: string | null) => UsageReport;
  /** Largest chunk in a DATA frame, after decompression. */
  readonly chunkSize: number;
  /** True when the feature "zstd" was negotiated. */
  readonly zstd: boolean;
  /**
   * True when the feature "mode" was negotiated: permission bits travel in
   * ENTRIES, GET_READY and PUT. Default false.
   */
  readonly modes?: boolean;
  /**
   * True when the feature "pull" was negotiated: a LIST with `window`
   * sends its pages as the client asks for them. Default false.
   */
  readonly pull?: boolean;
  /**
   * True when the feature "sums" was negotiated: SUMS is answered, else
   * refused with `unsupported`. Default false.
   */
  readonly sums?: boolean;
  /**
   * True when the feature "resume" was negotiated: a GET may ask for a
   * range (`length`), and a PUT with `resume` may continue a kept partial
   * upload. Default false.
   */
  readonly resume?: boolean;
  /** Writes a line to the server's log, for this session. */
  readonly log?: (line: string) => void;
  /**
   * True when the feature "xxh128" was negotiated: transfers are verified
   * with XXH3-128 instead of SHA-256. Default false.
   */
  readonly xxh128?: boolean;
  /** Bounds the downloads of one session that stream at once. */
  readonly downloads: Semaphore;
  /** Bounds the listings of one session held in memory at once. */
  readonly lists: Semaphore;
  /**
   * Turns on the event loop shared by every session, taken by work that
   * holds the thread (reading a folder), never while waiting on the client.
   */
  readonly turns: Turns;
  /** A handler producing many replies waits while more bytes than this are queued. */
  readonly writeQueueBytes: number;
  /** Records progress, so a transfer that moves data is never idle. */
  touch(): void;
}

/** What a finished request reports for the log line. */
export interface OpResult {
  /** File bytes moved (0 for requests that move none). */
  readonly bytes: number;
  /** The name the operation ended with, when it differs from the request's. */
  readonly finalName?: string;
}
