/**
 * Quotas: a {@linkcode Storage} in front of another that counts what is
 * stored, in all and per account, and refuses an upload before any of its
 * data flows when its declared size does not fit:
 *
 * - the server's quota (`fts serve --quota`): all stored files together;
 * - the uploading account's quota (`fts user quota NAME --quota`): the
 *   files that account stored and that still exist (an account's usage is
 *   the files it uploaded, wherever they are and whoever renamed them;
 *   accounts have no folders of their own, and a file belongs to the last
 *   account that stored it, see owner_journal.ts);
 * - the free space the server keeps on its disk (`--min-free`).
 *
 * The check and the reservation happen with no await in between, so
 * concurrent uploads can never both count the same free bytes: each
 * upload's declared size stays reserved, in all and for its account, until
 * it commits (then the stored file counts instead, less the file it
 * replaced) or ends any other way (failure, cancel, lost connection,
 * shutdown): the storage upload's abort or disposal releases it. An upload
 * cannot write past its declared size (upload_checks.ts), so it cannot
 * outgrow its reservation.
 *
 * A partial upload the backend keeps for a resume (`Upload.keep`) keeps its
 * reservation, as if it were still in flight, until it is resumed (its new
 * upload reserves instead), or the backend lets it expire
 * (`Storage.expirePartials`, asked before each upload and each report);
 * the kept partials are reserved again when the server starts.
 *
 * Usage is measured when the server starts, by walking every stored file
 * (`Storage.files()`), so changes made on the disk behind the server's back
 * count from its next start; from then on every upload, delete and rename
 * the server makes updates it. Rescanning while it runs would hold the
 * event loop for the whole walk (5.1 to 6.4 s for 100,000 files in 100
 * folders, measured on the 2-core development VM while a test suite ran
 * beside it) or, done lazily, make refusals depend on when the walk last
 * ran.
 *
 * @module
 */

import { formatSize } from "../../common/sizes.ts";
import { FtsError } from "../../protocol/errors.ts";
import type { ServerUsage, UsageReport } from "../../protocol/messages.ts";
import { quoteName, validateName } from "../../protocol/names.ts";
import { moveOwners, type OwnerJournal } from "./owner_journal.ts";
import type {
  CommitOptions,
  Entry,
  FileReader,
  KeptPartial,
  ReadOptions,
  RenameOptions,
  ResumePoint,
  Storage,
  StorageFeatures,
  StoredFile,
  Upload,
  UploadOptions,
} from "./storage.ts";

/** Options of {@linkcode QuotaStorage.open}. */
export interface QuotaOptions {
  /** Bytes all stored files may take together. Default: no limit. */
  limit?: number;
  /** The quota of an account, or undefined when it has none. */
  accountLimit?: (account: string) => number | undefined;
  /**
   * Free bytes on the disk the files are stored on; absent for a backend
   * that has no disk of its own (memory).
   */
  freeSpace?: () => number;
  /** Bytes an upload must leave free on the disk. Default 0. */
  minFree?: number;
  /** Owner of each file at start (see owner_journal.ts). Default: none. */
  owners?: ReadonlyMap<string, string>;
  /** Dispose `inner` with this storage. Default false. */
  ownsInner?: boolean;
}

export type { UsageReport };

/** A file stored by an account: its size when counted. */
interface Owned {
  readonly owner: string;
  readonly size: number;
}

/** An upload in flight. */
interface Reservation {
  readonly size: number;
  readonly owner: string | null;
  /** The storage upload, once begun: its `written` bytes are on the disk. */
  upload: Upload | null;
  /** Set while the backend keeps the upload's partial: its account and name. */
  kept?: string;
}

/** See the module comment. Create with {@linkcode QuotaStorage.open}. */
export class QuotaStorage implements Storage {
  readonly #inner: Storage;
  readonly #options: QuotaOptions;
  /** Bytes of all stored files. */
  #used: number;
  /** Files stored by accounts, by name. */
  readonly #owned: Map<string, Owned>;
  /** Bytes of the files each account stored. */
  readonly #accountUsed = new Map<string, number>();
  readonly #reservations = new Set<Reservation>();
  /** Where ownership changes are written; null: this run only. */
  #journal: OwnerJournal | null = null;
  #closed = false;

  private constructor(
    inner: Storage,
    options: QuotaOptions,
    used: number,
    owned: Map<string, Owned>,
  ) {
    this.#inner = inner;
    this.#options = options;
    this.#used = used;
    this.#owned = owned;
    for (const { owner, size } of owned.values()) this.#charge(owner, size);
    for (const p of inner.partials?.() ?? []) {
      this.#reservations.add({
        size: p.size,
        owner: p.owner,
        upload: null,
        kept: keptKey(p),
      });
    }
  }

  /**
   * Counts the files of `inner` (see the module comment) and returns the
   * storage that enforces `options` on it. Owners of files that no longer
   * exist are forgotten.
   *
   * @throws {FtsError} `io` when the files cannot be counted.
   * @throws {RangeError} for a negative limit.
   */
  static async open(
    inner: Storage,
    options: QuotaOptions = {},
  ): Promise<QuotaStorage> {
    for (const key of ["limit", "minFree"] as const) {
      const value = options[key];
      if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
        throw new RangeError(`The ${key} ${value} is not a size`);
      }
    }
    let used = 0;
    const owned = new Map<string, Owned>();
    const owners = options.owners ?? new Map<string, string>();
    for (const file of await storedFiles(inner)) {
      used += file.size;
      const owner = owners.get(file.name);
      if (owner !== undefined) {
        owned.set(file.name, { owner, size: file.size });
      }
    }
    return new QuotaStorage(inner, options, used, owned);
  }

  /** The owner of each file stored by an account, as counted. */
  owners(): Map<string, string> {
    return new Map([...this.#owned].map(([name, o]) => [name, o.owner]));
  }

  /**
   * Writes every later change of owners to `journal` (opened with
   * {@linkcode owners}), and closes it with this storage.
   */
  keepOwners(journal: OwnerJournal): void {
    this.#journal?.[Symbol.dispose]();
    this.#journal = journal;
  }

  get features(): StorageFeatures {
    return this.#inner.features;
  }

  /** The usage the USAGE request reports, for `account` (null: anonymous). */
  report(account: string | null): UsageReport {
    this.expirePartials();
    let reserved = 0;
    let accountReserved = 0;
    for (const r of this.#reservations) {
      reserved += r.size;
      if (account !== null && r.owner === account) accountReserved += r.size;
    }
    const { limit, minFree } = this.#options;
    const free = this.#free();
    const server: ServerUsage = {
      used: this.#used,
      reserved,
      ...(limit === undefined ? {} : { limit }),
      ...(free === undefined ? {} : { free }),
      ...(minFree ? { minFree } : {}),
    };
    if (account === null) return { server };
    const accountLimit = this.#options.accountLimit?.(account);
    return {
      server,
      account: {
        name: account,
        used: this.#accountUsed.get(account) ?? 0,
        reserved: accountReserved,
        ...(accountLimit === undefined ? {} : { limit: accountLimit }),
      },
    };
  }

  list(path: string): AsyncIterable<Entry[]> {
    return this.#inner.list(path);
  }

  stat(name: string): Promise<Entry> {
    return this.#inner.stat(name);
  }

  openRead(name: string, options?: ReadOptions): Promise<FileReader> {
    return this.#inner.openRead(name, options);
  }

  mkdir(name: string): Promise<void> {
    return this.#inner.mkdir(name);
  }

  files(): Iterable<StoredFile> {
    return this.#inner.files?.() ?? [];
  }

  partials(): Iterable<KeptPartial> {
    return this.#inner.partials?.() ?? [];
  }

  /** Lets the backend remove expired partials, and frees their reservations. */
  expirePartials(): KeptPartial[] {
    const gone = this.#inner.expirePartials?.() ?? [];
    if (gone.length === 0) return gone;
    const keys = new Set(gone.map(keptKey));
    for (const r of this.#reservations) {
      if (r.kept !== undefined && keys.has(r.kept)) {
        this.#reservations.delete(r);
      }
    }
    return gone;
  }

  /**
   * Reserves `size` (see the module comment), then begins the upload.
   *
   * @throws {FtsError} `quota_exceeded` (the server's or the account's
   * quota), `no_space` (it would leave less than `minFree` on the disk),
   * and the backend's errors.
   */
  async beginUpload(
    name: string,
    size: number,
    options: UploadOptions = {},
  ): Promise<Upload> {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`Upload size ${size} is not a valid size`);
    }
    const owner = options.owner ?? null;
    this.expirePartials();
    // A resumed upload takes over the reservation of its kept partial.
    const key = options.resume === undefined
      ? undefined
      : keptKey({ name: validateName(name), owner });
    const taken = [...this.#reservations].filter((r) =>
      key !== undefined && r.kept === key
    );
    for (const r of taken) this.#reservations.delete(r);
    const reservation: Reservation = { size, owner, upload: null };
    try {
      this.#check(name, size, owner);
      this.#reservations.add(reservation);
      reservation.upload = await this.#inner.beginUpload(name, size, options);
    } catch (error) {
      this.#reservations.delete(reservation);
      for (const r of taken) this.#reservations.add(r);
      throw error;
    }
    return new QuotaUpload(reservation.upload, {
      before: (overwrite) => this.#replacedBefore(name, overwrite),
      committed: (finalName, replaced) =>
        this.#committed(finalName, size, owner, replaced),
      kept: () => {
        if (key === undefined) return;
        reservation.upload = null;
        reservation.kept = key;
      },
      release: () => {
        if (reservation.kept === undefined) {
          this.#reservations.delete(reservation);
        }
      },
    });
  }

  async remove(name: string): Promise<number> {
    const freed = (await this.#inner.remove(name)) ?? 0;
    this.#used -= freed;
    this.#disown(validateName(name), true);
    return freed;
  }

  async rename(
    from: string,
    to: string,
    options: RenameOptions,
  ): Promise<number> {
    const replaced = (await this.#inner.rename(from, to, options)) ?? 0;
    const [source, target] = [validateName(from), validateName(to)];
    this.#used -= replaced;
    this.#disown(target, false);
    if (moveOwners(this.#owned, source, target) > 0) {
      this.#journal?.move(source, target);
    }
    return replaced;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#journal?.[Symbol.dispose]();
    this.#journal = null;
    if (this.#options.ownsInner) await this.#inner[Symbol.asyncDispose]();
  }

  /**
   * @throws {FtsError} when `size` more bytes for `owner` do not fit.
   */
  #check(name: string, size: number, owner: string | null): void {
    let reserved = 0;
    let ownerReserved = 0;
    let unwritten = 0;
    for (const r of this.#reservations) {
      reserved += r.size;
      if (owner !== null && r.owner === owner) ownerReserved += r.size;
      unwritten += r.size - Math.min(r.size, r.upload?.written ?? 0);
    }
    if (owner !== null) {
      const limit = this.#options.accountLimit?.(owner);
      const used = this.#accountUsed.get(owner) ?? 0;
      if (limit !== undefined && used + ownerReserved + size > limit) {
        throw quotaExceeded(name, "quota", limit, used, ownerReserved, size);
      }
    }
    const { limit } = this.#options;
    if (limit !== undefined && this.#used + reserved + size > limit) {
      throw quotaExceeded(
        name,
        "the server's quota",
        limit,
        this.#used,
        reserved,
        size,
      );
    }
    const minFree = this.#options.minFree ?? 0;
    if (minFree > 0) {
      const free = this.#free();
      if (free !== undefined && free - unwritten - size < minFree) {
        const left = Math.max(0, free - unwritten);
        throw new FtsError(
          "no_space",
          `Cannot upload ${quoteName(name)}: it would leave less than the ${
            formatSize(minFree)
          } the server keeps free (${formatSize(left)} free, ${
            formatSize(size)
          } requested)`,
        );
      }
    }
  }

  /** Free bytes on the disk, or undefined when the backend cannot tell. */
  #free(): number | undefined {
    const { freeSpace } = this.#options;
    if (freeSpace === undefined) return undefined;
    try {
      return freeSpace();
    } catch (error) {
      throw new FtsError(
        "io",
        "Cannot read the free space of the server's disk",
        { cause: error },
      );
    }
  }

  /**
   * For a backend whose uploads do not tell what a commit replaced: the
   * size of the file an overwrite is about to replace.
   */
  async #replacedBefore(name: string, overwrite: boolean): Promise<number> {
    if (!overwrite) return 0;
    const entry = await this.#inner.stat(name).catch(() => null);
    return entry?.type === "file" ? entry.size : 0;
  }

  #committed(
    name: string,
    size: number,
    owner: string | null,
    replaced: number,
  ): void {
    this.#used += size - replaced;
    if (owner === null) {
      this.#disown(name, true);
      return;
    }
    this.#disown(name, false);
    this.#owned.set(name, { owner, size });
    this.#charge(owner, size);
    this.#journal?.own(name, owner);
  }

  /** `name` is gone or replaced: its owner no longer pays for it. */
  #disown(name: string, journal: boolean): void {
    const owned = this.#owned.get(name);
    if (owned === undefined) return;
    this.#owned.delete(name);
    this.#charge(owned.owner, -owned.size);
    if (journal) this.#journal?.drop(name);
  }

  #charge(owner: string, bytes: number): void {
    const total = (this.#accountUsed.get(owner) ?? 0) + bytes;
    if (total === 0) this.#accountUsed.delete(owner);
    else this.#accountUsed.set(owner, total);
  }
}

/** What a {@linkcode QuotaUpload} tells its storage. */
interface UploadHooks {
  /** The size of the file an overwrite replaces, asked before the commit. */
  before(overwrite: boolean): Promise<number>;
  /** The upload is stored as `name`, replacing `replaced` bytes. */
  committed(name: string, replaced: number): void;
  /** The backend keeps the upload's partial: its reservation stays. */
  kept(): void;
  /** The upload no longer holds its reservation (unless kept). Idempotent. */
  release(): void;
}

/** An upload whose reservation ends with it. */
class QuotaUpload implements Upload {
  readonly #inner: Upload;
  readonly #hooks: UploadHooks;

  constructor(inner: Upload, hooks: UploadHooks) {
    this.#inner = inner;
    this.#hooks = hooks;
  }

  get written(): number {
    return this.#inner.written;
  }

  get replaced(): number | undefined {
    return this.#inner.replaced;
  }

  get resume(): ResumePoint | undefined {
    return this.#inner.resume;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#inner.write(chunk);
  }

  readAt(position: number, buf: Uint8Array): Promise<number | null> {
    if (!this.#inner.readAt) {
      return Promise.reject(new TypeError("The upload is not resumable"));
    }
    return this.#inner.readAt(position, buf);
  }

  rewrite(position: number, chunk: Uint8Array): Promise<void> {
    if (!this.#inner.rewrite) {
      return Promise.reject(new TypeError("The upload is not resumable"));
    }
    return this.#inner.rewrite(position, chunk);
  }

  async keep(): Promise<void> {
    if (!this.#inner.keep || this.#inner.resume === undefined) {
      return this.abort();
    }
    try {
      await this.#inner.keep();
      this.#hooks.kept();
    } finally {
      this.#hooks.release();
    }
  }

  async commit(options: CommitOptions): Promise<string> {
    try {
      const before = "replaced" in this.#inner
        ? 0
        : await this.#hooks.before(options.overwrite);
      const name = await this.#inner.commit(options);
      this.#hooks.committed(name, this.#inner.replaced ?? before);
      return name;
    } finally {
      this.#hooks.release();
    }
  }

  async abort(): Promise<void> {
    try {
      await this.#inner.abort();
    } finally {
      this.#hooks.release();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#inner[Symbol.asyncDispose]();
    } finally {
      this.#hooks.release();
    }
  }
}

/** Every stored file of `storage`, by its files() or by walking list(). */
async function storedFiles(storage: Storage): Promise<Iterable<StoredFile>> {
  if (storage.files) return storage.files();
  const found: StoredFile[] = [];
  const folders = [""];
  for (let path = folders.pop(); path !== undefined; path = folders.pop()) {
    for await (const page of storage.list(path)) {
      for (const entry of page) {
        const name = path === "" ? entry.name : `${path}/${entry.name}`;
        if (entry.type === "dir") folders.push(name);
        else found.push({ name, size: entry.size });
      }
    }
  }
  return found;
}

/** How a kept partial's reservation is found: its account and name. */
function keptKey(p: { name: string; owner: string | null }): string {
  return JSON.stringify([p.owner, p.name]);
}

function quotaExceeded(
  name: string,
  which: string,
  limit: number,
  used: number,
  reserved: number,
  size: number,
): FtsError {
  const inFlight = reserved > 0
    ? `, ${formatSize(reserved)} reserved by uploads in progress`
    : "";
  return new FtsError(
    "quota_exceeded",
    `Cannot upload ${quoteName(name)}: ${which} of ${
      formatSize(limit)
    } exceeded (${formatSize(used)} used${inFlight}, ${
      formatSize(size)
    } requested)`,
  );
}
