/**
 * Partial uploads the local backend keeps for a later resume, in
 * `.fts/resume/`: per account and name one `<id>.part` (the bytes) and one
 * `<id>.side` (a sidecar, common/chunk_sums.ts: name, account, size, mtime,
 * when it was last touched, the block size and how many bytes are durable:
 * synced before the sidecar says so). The sidecar records no block hashes:
 * the partial is hashed from the disk when it is resumed, so damage done
 * after it was written is seen too.
 *
 * A partial whose sidecar is missing or damaged is removed when the
 * storage opens; one untouched for the time to live is removed by
 * {@linkcode LocalPartials.expire}.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  blockSizeFor,
  decodeSidecar,
  encodeSidecar,
} from "../../../common/chunk_sums.ts";
import type { Clock } from "../../../common/clock.ts";
import { removeQuietly } from "../../../common/remove_quietly.ts";
import type { KeptPartial, ResumePoint } from "../storage.ts";
import type { KeepHooks, PartFile } from "./local_upload.ts";
import type { Folder } from "./rooted_paths.ts";

const PART = ".part";
const SIDE = ".side";
const TEMP = ".tmp";

/** A kept partial, as its sidecar says. */
interface Kept extends KeptPartial {
  readonly mtime: number;
  readonly block: number;
  /** Durable bytes. */
  readonly length: number;
  /** When it was last written or resumed (ms since the epoch). */
  readonly touched: number;
}

/** Options of {@linkcode LocalPartials}. */
export interface LocalPartialsOptions {
  readonly clock: Clock;
  /** How long a partial untouched is kept, in ms. */
  readonly ttlMs: number;
  /** Bytes written between two checkpoints of an upload. */
  readonly checkpointBytes: number;
}

/** A resumable upload about to begin: where and how. */
export interface ResumeSlot {
  readonly part: PartFile;
  readonly hooks: KeepHooks;
  /** Frees the slot for another upload of the same account and name. */
  release(): void;
}

/** See the module comment. */
export class LocalPartials {
  readonly #folder: Folder;
  readonly #options: LocalPartialsOptions;
  readonly #kept = new Map<string, Kept>();
  /** Partials being resumed or written now, by id. */
  readonly #busy = new Set<string>();
  /** Called when the upload that uses a partial ends, by id. */
  readonly #waiters = new Map<string, Set<() => void>>();

  /** Reads the sidecars of `folder`, removing what cannot be resumed. */
  constructor(folder: Folder, options: LocalPartialsOptions) {
    this.#folder = folder;
    this.#options = options;
    const parts = new Set<string>();
    for (const entry of Deno.readDirSync(folder.path)) {
      const { name } = entry;
      if (name.endsWith(PART)) parts.add(name.slice(0, -PART.length));
      else if (name.endsWith(SIDE)) this.#load(name.slice(0, -SIDE.length));
      else removeQuietly(folder.at(name));
    }
    for (const id of parts) {
      if (!this.#kept.has(id)) removeQuietly(folder.at(id + PART));
    }
    for (const id of this.#kept.keys()) {
      if (!parts.has(id)) this.#drop(id);
    }
  }

  /** The kept partials not in use. */
  list(): KeptPartial[] {
    return [...this.#kept.values()].map(({ name, owner, size }) => ({
      name,
      owner,
      size,
    }));
  }

  /** Removes the partials untouched for the time to live; returns them. */
  expire(): KeptPartial[] {
    const now = this.#options.clock.now();
    const gone: KeptPartial[] = [];
    for (const [id, kept] of this.#kept) {
      if (now - kept.touched < this.#options.ttlMs) continue;
      this.#drop(id);
      gone.push({ name: kept.name, owner: kept.owner, size: kept.size });
    }
    return gone;
  }

  /**
   * Resolves once no upload uses the partial of `name` by `owner`, or after
   * `ms`. A client that reconnects after a cut asks again at once, often
   * before the session it lost has kept what arrived.
   */
  whenFree(name: string, owner: string | null, ms: number): Promise<void> {
    const id = partialId(name, owner);
    if (!this.#busy.has(id)) return Promise.resolve();
    const { clock } = this.#options;
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(id) ?? new Set();
      this.#waiters.set(id, waiters);
      const done = () => {
        clock.clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(id) === waiters) {
          this.#waiters.delete(id);
        }
        resolve();
      };
      const timer = clock.setTimeout(done, ms, { background: true });
      waiters.add(done);
    });
  }

  /**
   * The slot of a resumable upload of `name` by `owner`: the kept partial
   * when its size and mtime match (else it is dropped and a new one
   * begins), or null when another upload uses that account and name now.
   */
  take(
    name: string,
    owner: string | null,
    size: number,
    mtime: number,
  ): ResumeSlot | null {
    const id = partialId(name, owner);
    if (this.#busy.has(id)) return null;
    const kept = this.#kept.get(id);
    let resume: ResumePoint = { offset: 0, block: blockSizeFor(size) };
    if (kept && kept.size === size && kept.mtime === mtime) {
      const whole = kept.length >= size;
      resume = {
        offset: whole
          ? size
          : Math.floor(kept.length / kept.block) * kept.block,
        block: kept.block,
      };
    } else if (kept) {
      this.#drop(id);
    }
    this.#kept.delete(id);
    this.#busy.add(id);
    const fields = { name, owner, size, mtime, block: resume.block };
    let released = false;
    return {
      part: { folder: this.#folder, base: id + PART },
      hooks: {
        resume,
        checkpointBytes: this.#options.checkpointBytes,
        record: (length) => this.#record(id, { ...fields, length }),
        kept: (length) => {
          this.#kept.set(id, {
            ...fields,
            length,
            touched: this.#options.clock.now(),
          });
        },
        forget: () => removeQuietly(this.#folder.at(id + SIDE)),
      },
      release: () => {
        if (released) return;
        released = true;
        this.#busy.delete(id);
        for (const done of [...this.#waiters.get(id) ?? []]) done();
      },
    };
  }

  /** Writes the sidecar of `id` (a new file renamed over the old one). */
  #record(id: string, kept: Omit<Kept, "touched">): void {
    const text = encodeSidecar({
      block: kept.block,
      length: kept.length,
      sums: new Uint8Array(0),
      fields: {
        name: kept.name,
        ...(kept.owner === null ? {} : { owner: kept.owner }),
        size: kept.size,
        mtime: kept.mtime,
        touched: this.#options.clock.now(),
      },
    });
    const temp = this.#folder.at(id + SIDE + TEMP);
    Deno.writeTextFileSync(temp, text, { mode: 0o600 });
    Deno.renameSync(temp, this.#folder.at(id + SIDE));
  }

  #load(id: string): void {
    try {
      const sidecar = decodeSidecar(
        Deno.readTextFileSync(this.#folder.at(id + SIDE)),
      );
      const { name, owner, size, mtime, touched } = sidecar.fields;
      if (
        typeof name !== "string" ||
        (owner !== undefined && typeof owner !== "string") ||
        !isCount(size) || !isCount(mtime) || !isCount(touched) ||
        sidecar.length > size ||
        partialId(name, owner ?? null) !== id
      ) {
        throw new SyntaxError("The sidecar's fields are damaged");
      }
      this.#kept.set(id, {
        name,
        owner: owner ?? null,
        size,
        mtime,
        touched,
        block: sidecar.block,
        length: sidecar.length,
      });
    } catch {
      this.#drop(id);
    }
  }

  #drop(id: string): void {
    this.#kept.delete(id);
    removeQuietly(this.#folder.at(id + SIDE));
    removeQuietly(this.#folder.at(id + PART));
  }
}

/** The file id of the partial of `name` uploaded by `owner`. */
function partialId(name: string, owner: string | null): string {
  return createHash("sha256").update(JSON.stringify([owner, name])).digest(
    "hex",
  ).slice(0, 40);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
