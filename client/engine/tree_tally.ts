/**
 * What a folder transfer counts as it goes (files sent, skipped as
 * identical and failed, bytes, folders, what was left out and why) and
 * reports as progress for the whole tree. It keeps counts and only the first few failures and renamed files,
 * so memory stays flat however many files the tree holds.
 *
 * @module
 */

import type { Progress } from "./session_core.ts";

/** Progress of a whole folder transfer. */
export interface TreeProgress extends Progress {
  /** Files finished (sent, skipped as identical, or failed). */
  readonly files: number;
  /** Files found so far. */
  readonly fileTotal: number;
  /** True while the walk is still finding files (the totals may grow). */
  readonly counting: boolean;
}

/** A file saved or stored under another name than asked. */
export interface Renamed {
  /** The path from the top of the tree. */
  readonly from: string;
  /** The name it got (its last component). */
  readonly to: string;
}

/** How a folder transfer went. */
export interface TreeSummary {
  /** Files sent and committed. */
  readonly files: number;
  /** Content bytes of those files. */
  readonly bytes: number;
  /** Files not sent: already at the destination, identical. */
  readonly identical: number;
  /** Content bytes of those files. */
  readonly identicalBytes: number;
  /** Folders made or found at the destination (the top included). */
  readonly folders: number;
  /** Files and folders that failed. */
  readonly failed: number;
  /** The first {@linkcode MAX_KEPT} failures, as FtsErrors. */
  readonly failures: readonly unknown[];
  /** The first {@linkcode MAX_KEPT} files saved under another name. */
  readonly renamed: readonly Renamed[];
  readonly renamedCount: number;
  /** Files that continued an interrupted transfer (resumed). */
  readonly resumed: number;
  /** Bytes of those files that were already there, not sent again. */
  readonly resumedBytes: number;
  /** Symbolic links not followed. */
  readonly symlinks: number;
  /** Devices, FIFOs and sockets not sent. */
  readonly special: number;
  /** The first {@linkcode MAX_KEPT} skipped paths (links and special files). */
  readonly skippedPaths: readonly string[];
}

/** Failures, renamed files and skipped paths kept for the report, each. */
export const MAX_KEPT = 100;

/** Counts a folder transfer; see {@linkcode TreeSummary}. */
export class TreeTally {
  readonly #report: ((progress: TreeProgress) => void) | undefined;
  files = 0;
  bytes = 0;
  identical = 0;
  identicalBytes = 0;
  folders = 0;
  failed = 0;
  readonly failures: unknown[] = [];
  readonly renamed: Renamed[] = [];
  renamedCount = 0;
  resumed = 0;
  resumedBytes = 0;
  symlinks = 0;
  special = 0;
  readonly skippedPaths: string[] = [];
  #done = 0;
  #fileTotal = 0;
  #byteTotal = 0;
  #moved = 0;
  #counting = true;

  constructor(report: ((progress: TreeProgress) => void) | undefined) {
    this.#report = report;
  }

  /** The walk found files: the totals grow. */
  found(files: number, bytes: number): void {
    this.#fileTotal += files;
    this.#byteTotal += bytes;
    this.#emit();
  }

  /** The walk is over: the totals are final. */
  counted(): void {
    this.#counting = false;
    this.#emit();
  }

  /** Content bytes moved. */
  moved(n: number): void {
    this.#moved += n;
    this.#emit();
  }

  /**
   * A file was committed; `resumedAt` when it continued an interrupted
   * transfer from that many bytes.
   */
  sent(size: number, renamed: Renamed | null, resumedAt?: number): void {
    this.files++;
    this.bytes += size;
    this.#done++;
    if (resumedAt !== undefined) {
      this.resumed++;
      this.resumedBytes += resumedAt;
    }
    if (renamed !== null) {
      this.renamedCount++;
      if (this.renamed.length < MAX_KEPT) this.renamed.push(renamed);
    }
    this.#emit();
  }

  /**
   * A file was found identical at the destination and not sent: it is
   * done, and its bytes leave the total still to move.
   */
  same(size: number): void {
    this.identical++;
    this.identicalBytes += size;
    this.#byteTotal -= size;
    this.#done++;
    this.#emit();
  }

  /** A file or folder failed; `file` when it was one of the files counted. */
  fail(error: unknown, file: boolean): void {
    this.failed++;
    if (this.failures.length < MAX_KEPT) this.failures.push(error);
    if (file) {
      this.#done++;
      this.#emit();
    }
  }

  /** A link or special file was left out. */
  skip(path: string, reason: "symlink" | "special"): void {
    if (reason === "symlink") this.symlinks++;
    else this.special++;
    if (this.skippedPaths.length < MAX_KEPT) this.skippedPaths.push(path);
  }

  /** The summary so far. */
  summary(): TreeSummary {
    return {
      files: this.files,
      bytes: this.bytes,
      identical: this.identical,
      identicalBytes: this.identicalBytes,
      folders: this.folders,
      failed: this.failed,
      failures: this.failures,
      renamed: this.renamed,
      renamedCount: this.renamedCount,
      resumed: this.resumed,
      resumedBytes: this.resumedBytes,
      symlinks: this.symlinks,
      special: this.special,
      skippedPaths: this.skippedPaths,
    };
  }

  #emit(): void {
    this.#report?.({
      bytes: this.#moved,
      total: Math.max(this.#byteTotal, this.#moved),
      files: this.#done,
      fileTotal: Math.max(this.#fileTotal, this.#done),
      counting: this.#counting,
    });
  }
}
