/**
 * What the transfer modules (upload, download, batches) need from a session:
 * the connection, the request table and the negotiated parameters. Internal
 * to the client engine.
 *
 * @module
 */

import type { HashAlgorithm } from "../../common/stream_hash.ts";
import type { FrameConn } from "../../common/frame_conn.ts";
import type { RequestTable } from "./request_table.ts";
import type { LocalDisk } from "./commit_group.ts";
import type { UploadSender } from "./upload_sender.ts";

/** Progress of one transfer or of a batch, in bytes of file content. */
export interface Progress {
  readonly bytes: number;
  readonly total: number;
}

/** The session internals shared with the transfer modules. */
export interface SessionCore {
  readonly conn: FrameConn;
  readonly requests: RequestTable;
  /** Largest chunk in a DATA frame, as negotiated (after decompression). */
  readonly chunkSize: number;
  /** True when zstd was negotiated (DATA may carry FLAG_ZSTD both ways). */
  readonly zstd: boolean;
  /** True when the feature "mode" was negotiated (permission bits travel). */
  readonly modes: boolean;
  /** True when the feature "sums" was negotiated (SUMS may be asked). */
  readonly sums: boolean;
  /**
   * True when the feature "resume" was negotiated: an upload may continue
   * a partial the server kept, a download may ask for ranges (GET length).
   */
  readonly resume: boolean;
  /**
   * The hash that verifies transfers: "xxh128" when that feature was
   * negotiated, else "sha256".
   */
  readonly algorithm: HashAlgorithm;
  /** Sends every upload of the session (see upload_sender.ts). */
  readonly uploads: UploadSender;
  /**
   * Local folders already cleared of left-over temporary files in this
   * session (see `reclaimPartFiles`), so each is scanned once.
   */
  readonly reclaimed: Set<string>;
  /** The calls that make downloaded files durable and visible. */
  readonly disk: LocalDisk;
}
