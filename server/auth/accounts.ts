/**
 * The user store: `<stateDir>/users.json`, holding each user's permissions
 * and password hash. The folder is mode 0700 and the file 0600; every change
 * is written to a temporary file, fsynced and renamed over the old one, so a
 * crash leaves either the old or the new file, never half of one.
 *
 * File format (version 1):
 *
 * ```json
 * {"users": {"alice": {"created": 1732460000000, "hash": "scrypt$15$8$1$…$…",
 *   "perms": ["read", "write"], "quota": 10737418240,
 *   "updated": 1732460000000}}, "version": 1}
 * ```
 *
 * `quota` (bytes the files the user uploaded may take, see
 * storage/quota.ts) is absent for a user without one.
 *
 * @module
 */

import { type Clock, systemClock } from "../../common/clock.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  ensurePrivateDir,
  writeFileAtomic,
} from "../../common/private_files.ts";
import { FtsError } from "../../protocol/errors.ts";
import {
  checkHashFormat,
  MAX_PASSWORD_BYTES,
  type PasswordHasher,
  ScryptHasher,
} from "./password_hash.ts";
import {
  isPermission,
  normalizePermissions,
  type Permission,
} from "./permissions.ts";

/** Name of the user file inside the state folder. */
export const USERS_FILE = "users.json";

/** Pattern of a valid user name. */
const USER_NAME_PATTERN = /^[a-z_][a-z0-9_.-]{0,31}$/;

const FORMAT_VERSION = 1;
const MAX_FILE_BYTES = 16 * 1024 * 1024;
const encoder = new TextEncoder();

/** A user as {@linkcode Accounts.list} shows it: never the hash. */
export interface UserInfo {
  readonly name: string;
  readonly perms: readonly Permission[];
  /** Bytes the user's files may take; absent: no quota. */
  readonly quota?: number;
}

/** Options of {@linkcode loadAccounts}. */
export interface AccountsOptions {
  /** Hashes passwords; default a {@linkcode ScryptHasher} at default cost. */
  hasher?: PasswordHasher;
  /** Time source for the `created`/`updated` fields; default `Date`. */
  clock?: Pick<Clock, "now">;
  /**
   * Where the state folder is reached, when not by `stateDir` itself: the
   * `/proc/self/fd/N` path of a descriptor the server holds, so a folder
   * swapped in later is never read. Messages still name `stateDir`.
   */
  through?: string;
}

/**
 * What a successful login was checked against; a session keeps it so
 * {@linkcode Accounts.standing} can tell when the password changed. Opaque:
 * it never leaves the server and is never logged.
 */
export class LoginCredential {
  readonly #hash: string;
  constructor(hash: string) {
    this.#hash = hash;
  }
  /** The password hash the login matched. */
  get hash(): string {
    return this.#hash;
  }
  /** Keeps the hash out of `console.log` and `Deno.inspect`. */
  [Symbol.for("Deno.customInspect")](): string {
    return "LoginCredential {}";
  }
}

/** A successful {@linkcode Accounts.login}. */
export interface LoginResult {
  readonly perms: readonly Permission[];
  readonly credential: LoginCredential;
}

interface UserRecord {
  perms: Permission[];
  hash: string;
  quota?: number;
  created: number;
  updated: number;
}

/** Tells whether `name` is a valid user name. */
export function isValidUserName(name: unknown): name is string {
  return typeof name === "string" && USER_NAME_PATTERN.test(name);
}

/**
 * Throws unless `name` is a valid user name.
 *
 * @throws {RangeError} naming the rule.
 */
export function validateUserName(name: string): string {
  if (!USER_NAME_PATTERN.test(name)) {
    throw new RangeError(
      `Invalid user name ${
        JSON.stringify(name.slice(0, 40))
      }: use 1 to 32 lowercase letters, digits, "_", "." or "-", starting with a letter or "_"`,
    );
  }
  return name;
}

/**
 * Opens the user store in `stateDir` (created on the first change). A missing
 * file means no users.
 *
 * @throws {FtsError} code `io` if the file cannot be read or is not a valid
 * user file (the message never quotes its contents).
 * @example
 * ```ts
 * const accounts = await loadAccounts("dados/.fts");
 * const perms = await accounts.verify("alice", password); // null if refused
 * ```
 */
export async function loadAccounts(
  stateDir: string,
  options: AccountsOptions = {},
): Promise<Accounts> {
  const accounts = new Accounts(stateDir, options);
  await accounts.refresh();
  return accounts;
}

/** The user store; create it with {@linkcode loadAccounts}. */
export class Accounts {
  readonly stateDir: string;
  readonly path: string;
  /** The folder and file as opened (through a held descriptor, or not). */
  readonly #dir: string;
  readonly #file: string;
  readonly #hasher: PasswordHasher;
  readonly #clock: Pick<Clock, "now">;
  #users = new Map<string, UserRecord>();
  #stamp = "";

  constructor(stateDir: string, options: AccountsOptions = {}) {
    this.stateDir = stateDir;
    this.path = join(stateDir, USERS_FILE);
    this.#dir = options.through ?? stateDir;
    this.#file = join(this.#dir, USERS_FILE);
    this.#hasher = options.hasher ?? new ScryptHasher();
    this.#clock = options.clock ?? systemClock;
  }

  /** True when at least one user exists (as of the last load). */
  get hasUsers(): boolean {
    return this.#users.size > 0;
  }

  /** Users and their permissions, sorted by name. Never includes hashes. */
  list(): UserInfo[] {
    return [...this.#users.entries()]
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      .map(([name, user]) => info(name, user));
  }

  /** The permissions of `name`, or undefined for an unknown user. */
  get(name: string): UserInfo | undefined {
    const user = this.#users.get(name);
    return user ? info(name, user) : undefined;
  }

  /**
   * Re-reads the file if it changed since it was last read (another process,
   * such as `fts user add`, may have changed it).
   *
   * @throws {FtsError} code `io`, as {@linkcode loadAccounts}.
   */
  refresh(): Promise<void> {
    try {
      this.refreshSync();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * {@linkcode refresh} as a synchronous call, for the check before each
   * request: one `stat` (a few µs) while the file is unchanged, a read of
   * the small file only when it changed.
   *
   * @throws {FtsError} code `io`, as {@linkcode loadAccounts}; the users
   * read last stay in effect.
   */
  refreshSync(): void {
    // Without accounts (the usual case then) a failed stat would throw, and
    // an exception costs ten times the call: ask whether it exists first.
    if (this.#stamp === "" && !existsSync(this.#file)) {
      this.#forget();
      return;
    }
    let stat: Deno.FileInfo;
    try {
      stat = Deno.statSync(this.#file);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        throw ioError(`Cannot read users from "${this.path}"`, error);
      }
      this.#forget();
      return;
    }
    const stamp = stampOf(stat);
    if (stamp === this.#stamp) return;
    this.#users = this.#parse(this.#readBytesSync());
    this.#stamp = stamp;
  }

  /**
   * What a session logged in as `name` with `credential` (from
   * {@linkcode login}) may do now: the user's current permissions, or null
   * when the user was removed or its password changed since. Uses the users
   * as last read; call {@linkcode refreshSync} first.
   */
  standing(
    name: string,
    credential: LoginCredential,
  ): readonly Permission[] | null {
    const user = this.#users.get(name);
    return user && user.hash === credential.hash ? [...user.perms] : null;
  }

  /**
   * Adds a user.
   *
   * @throws {RangeError} for an invalid name or password.
   * @throws {FtsError} code `exists` if the user exists, `io` if the file
   * cannot be written.
   */
  async add(
    name: string,
    password: string,
    perms: readonly Permission[],
    quota?: number | null,
  ): Promise<void> {
    validateUserName(name);
    checkPerms(perms);
    if (quota != null) checkQuota(quota);
    const hash = await this.#hasher.hash(password);
    await this.#change((users) => {
      if (users.has(name)) {
        throw new FtsError(
          "exists",
          `Cannot add user "${name}": the user already exists`,
        );
      }
      const now = this.#clock.now();
      users.set(name, {
        perms: normalizePermissions(perms),
        hash,
        created: now,
        updated: now,
        ...(quota == null ? {} : { quota }),
      });
    });
  }

  /**
   * Removes a user.
   *
   * @throws {FtsError} code `not_found` for an unknown user, `io` if the file
   * cannot be written.
   */
  async remove(name: string): Promise<void> {
    await this.#change((users) => {
      if (!users.delete(name)) throw notFound("remove", name);
    });
  }

  /**
   * Sets a user's password.
   *
   * @throws {RangeError} for an invalid password.
   * @throws {FtsError} code `not_found` for an unknown user, `io` if the file
   * cannot be written.
   */
  async setPassword(name: string, password: string): Promise<void> {
    await this.refresh();
    if (!this.#users.has(name)) throw notFound("change the password of", name);
    const hash = await this.#hasher.hash(password);
    await this.#change((users) => {
      const user = users.get(name);
      if (!user) throw notFound("change the password of", name);
      user.hash = hash;
      user.updated = this.#clock.now();
    });
  }

  /**
   * Replaces a user's permissions.
   *
   * @throws {FtsError} code `not_found` for an unknown user, `io` if the file
   * cannot be written.
   */
  async setPermissions(
    name: string,
    perms: readonly Permission[],
  ): Promise<void> {
    checkPerms(perms);
    await this.#change((users) => {
      const user = users.get(name);
      if (!user) throw notFound("change the permissions of", name);
      user.perms = normalizePermissions(perms);
      user.updated = this.#clock.now();
    });
  }

  /**
   * Sets a user's quota in bytes, or removes it (null).
   *
   * @throws {RangeError} for a quota that is not a size.
   * @throws {FtsError} code `not_found` for an unknown user, `io` if the file
   * cannot be written.
   */
  async setQuota(name: string, quota: number | null): Promise<void> {
    if (quota !== null) checkQuota(quota);
    await this.#change((users) => {
      const user = users.get(name);
      if (!user) throw notFound("change the quota of", name);
      if (quota === null) delete user.quota;
      else user.quota = quota;
      user.updated = this.#clock.now();
    });
  }

  /**
   * Checks a login. Returns the user's permissions, or null for a wrong
   * password, an unknown or invalid user name, or an over-long password —
   * all alike, and all at the cost of one password hash: an unknown user is
   * checked against the hasher's dummy hash. Re-reads the file first if it
   * changed, so added, removed and changed users take effect at once.
   *
   * @throws {FtsError} code `io` if the changed file cannot be read.
   */
  async verify(
    name: string,
    password: string,
  ): Promise<readonly Permission[] | null> {
    return (await this.login(name, password))?.perms ?? null;
  }

  /**
   * {@linkcode verify}, also returning the credential a session keeps to
   * ask {@linkcode standing} whether its login still holds.
   *
   * @throws {FtsError} code `io` if the changed file cannot be read.
   */
  async login(name: string, password: string): Promise<LoginResult | null> {
    await this.refresh();
    const user = isValidUserName(name) ? this.#users.get(name) : undefined;
    const acceptable = encoder.encode(password).byteLength <=
      MAX_PASSWORD_BYTES;
    const stored = user && acceptable ? user.hash : this.#hasher.dummy();
    const ok = await this.#hasher.verify(password, stored);
    if (!ok || !user || !acceptable) return null;
    return { perms: [...user.perms], credential: new LoginCredential(stored) };
  }

  /** Re-reads the file, applies `edit` and writes the result atomically. */
  async #change(edit: (users: Map<string, UserRecord>) => void): Promise<void> {
    this.#stamp = "";
    await this.refresh();
    const users = new Map(
      [...this.#users].map(([name, user]) => [name, { ...user }]),
    );
    edit(users);
    await this.#write(users);
    this.#users = users;
    this.#stamp = "";
  }

  #forget(): void {
    this.#users = new Map();
    this.#stamp = "";
  }

  #readBytesSync(): Uint8Array {
    const where = `Cannot read users from "${this.path}"`;
    try {
      using file = Deno.openSync(this.#file, { read: true });
      const { size } = file.statSync();
      if (size > MAX_FILE_BYTES) throw ioError(`${where}: file is too large`);
      const bytes = new Uint8Array(size);
      let n = 0;
      while (n < size) {
        const r = file.readSync(bytes.subarray(n));
        if (r === null) break;
        n += r;
      }
      return bytes.subarray(0, n);
    } catch (error) {
      if (error instanceof FtsError) throw error;
      throw ioError(where, error);
    }
  }

  #parse(bytes: Uint8Array): Map<string, UserRecord> {
    const where = `Cannot read users from "${this.path}"`;
    let data: unknown;
    try {
      data = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      // No cause: a JSON.parse message quotes the file, hashes included.
      throw ioError(`${where}: not valid JSON`);
    }
    return parseUsers(data, where);
  }

  async #write(users: Map<string, UserRecord>): Promise<void> {
    const where = `Cannot save users to "${this.path}"`;
    const sorted = [...users.keys()].sort();
    const body: Record<string, UserRecord> = {};
    for (const name of sorted) {
      const u = users.get(name)!;
      body[name] = {
        created: u.created,
        hash: u.hash,
        perms: u.perms,
        ...(u.quota === undefined ? {} : { quota: u.quota }),
        updated: u.updated,
      } as UserRecord;
    }
    const text = JSON.stringify(
      { users: body, version: FORMAT_VERSION },
      null,
      2,
    ) + "\n";
    try {
      await ensurePrivateDir(this.#dir);
      await writeFileAtomic(this.#file, text);
    } catch (error) {
      throw ioError(where, error);
    }
  }
}

function stampOf(stat: Deno.FileInfo): string {
  return `${stat.ino}:${stat.size}:${stat.mtime?.getTime()}:${stat.ctime?.getTime()}`;
}

function parseUsers(data: unknown, where: string): Map<string, UserRecord> {
  if (
    !isObject(data) || data.version !== FORMAT_VERSION || !isObject(data.users)
  ) {
    throw ioError(`${where}: not a version ${FORMAT_VERSION} user file`);
  }
  const users = new Map<string, UserRecord>();
  for (const [name, value] of Object.entries(data.users)) {
    const bad = (what: string) =>
      ioError(`${where}: user ${JSON.stringify(name.slice(0, 40))} ${what}`);
    if (!isValidUserName(name)) throw bad("has an invalid name");
    if (!isObject(value)) throw bad("is not an object");
    const { perms, hash, created, updated, quota } = value;
    if (!Array.isArray(perms) || !perms.every(isPermission)) {
      throw bad("has invalid permissions");
    }
    if (typeof hash !== "string") throw bad("has no password hash");
    if (
      quota !== undefined &&
      !(typeof quota === "number" && Number.isSafeInteger(quota) && quota >= 0)
    ) {
      throw bad("has an invalid quota");
    }
    try {
      checkHashFormat(hash);
    } catch {
      throw bad("has an invalid password hash");
    }
    users.set(name, {
      perms: normalizePermissions(perms),
      hash,
      created: typeof created === "number" ? created : 0,
      updated: typeof updated === "number" ? updated : 0,
      ...(quota === undefined ? {} : { quota: quota as number }),
    });
  }
  return users;
}

/** What {@linkcode Accounts.list} and {@linkcode Accounts.get} show of a user. */
function info(name: string, user: UserRecord): UserInfo {
  return {
    name,
    perms: [...user.perms],
    ...(user.quota === undefined ? {} : { quota: user.quota }),
  };
}

function checkQuota(quota: number): void {
  if (!Number.isSafeInteger(quota) || quota < 0) {
    throw new RangeError(`A quota of ${quota} bytes is not a size`);
  }
}

function checkPerms(perms: readonly Permission[]): void {
  if (!Array.isArray(perms) || !perms.every(isPermission)) {
    throw new RangeError("Permissions must be read, write, delete or admin");
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function notFound(action: string, name: string): FtsError {
  return new FtsError(
    "not_found",
    `Cannot ${action} user ${JSON.stringify(name.slice(0, 40))}: no such user`,
  );
}

function ioError(message: string, cause?: unknown): FtsError {
  if (cause === undefined) return new FtsError("io", message);
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new FtsError("io", `${message}: ${detail}`, { cause });
}
