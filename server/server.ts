/**
 * The listener and the session registry: accepts connections (TLS or plain
 * TCP), decides who may do what (accounts, anonymous access), enforces the
 * client limit and runs the graceful shutdown.
 *
 * @module
 */

import { FtsError } from "../protocol/errors.ts";
import { quoteName } from "../protocol/names.ts";
import { DEFAULT_CHUNK, KNOWN_FEATURES } from "../protocol/messages.ts";
import { DEFAULT_PORT, MAX_PAYLOAD } from "../protocol/frame.ts";
import type { Accounts } from "./auth/accounts.ts";
import { type Clock, systemClock, type TimerHandle } from "../common/clock.ts";
import { addressNetwork } from "../common/ip_address.ts";
import {
  bandwidthLimits,
  type ConnectionLimits,
} from "../common/rate_limit.ts";
import {
  DEFAULT_PARTIAL_TTL_MS,
  LocalStorage,
} from "./storage/local/local_storage.ts";
import { LoginGate } from "./auth/login.ts";
import {
  LoginThrottle,
  type LoginThrottleOptions,
} from "./auth/login_throttle.ts";
import {
  type AccessDecision,
  type AccessPolicy,
  AccessRefusedError,
  type AnonymousMode,
  decideAccess,
} from "./auth/permissions.ts";
import { Session, type SessionConn } from "./session/session.ts";
import { standingOf } from "./session/session_access.ts";
import type { Storage } from "./storage/storage.ts";
import { QuotaStorage } from "./storage/quota.ts";
import { OwnerJournal, readOwners } from "./storage/owner_journal.ts";
import * as fs from "node:fs";
import { TlsFront } from "./tls/tls_front.ts";
import type { TlsIdentity } from "./tls/tls_identity.ts";

/** Options of {@linkcode startServer}; every field has a default. */
export interface ServerOptions {
  /** Data folder for the local backend. Default `"./dados"` (created if missing). */
  root?: string;
  /** A storage backend to use instead of a local folder at `root`; the caller keeps ownership. */
  storage?: Storage;
  /** Address to listen on. Default `"127.0.0.1"`. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 12345. */
  port?: number;
  /** Clients served at once; more are answered `ERROR busy` and closed. Default 64. */
  maxClients?: number;
  /**
   * Connections open at once from one address (one IPv4 address, or one
   * IPv6 /64 network), counted from the moment they are accepted; more are
   * closed at once, before any handshake. Default 16, or `maxClients` if
   * that is lower.
   */
  maxPerAddress?: number;
  /** Grace period of {@linkcode FtsServer.shutdown} when none is given. Default 30,000 ms. */
  graceMs?: number;
  /** Time a new connection has to send HELLO. Default 10,000 ms. */
  handshakeTimeoutMs?: number;
  /**
   * A connection with no request, no transfer progress and no other frame
   * than PING for this long is closed: keep-alive alone does not hold a
   * slot. Default 300,000 ms.
   */
  idleTimeoutMs?: number;
  /** Largest DATA chunk in either direction. Default 1 MiB (DEFAULT_CHUNK). */
  chunkSize?: number;
  /**
   * Bytes per second each connection may carry in each direction
   * (`--limit-per-client`), counted as they go on the wire. Default: no limit.
   */
  limitPerClient?: number | undefined;
  /**
   * Bytes per second all connections together may carry in each direction
   * (`--limit-total`), shared fairly: connections take turns, so one cannot
   * starve the others. Default: no limit.
   */
  limitTotal?: number | undefined;
  /** Features offered in the handshake. Default: all known (`["zstd", "mode"]`). */
  features?: readonly string[];
  /**
   * Receives one line per operation (client address, operation, name, bytes,
   * milliseconds, result) and per connection event. Default: discard.
   */
  log?: (line: string) => void;
  /** Time source for timeouts, the grace period and durations. Default: the system clock. */
  clock?: Clock;
  /** Aborting it starts a graceful shutdown with the default grace. */
  signal?: AbortSignal;
  /**
   * The TLS identity to present. Default: none, plain TCP. The API defaults
   * to plain TCP so that embedding and in-process tests opt in; `fts serve`
   * always passes one unless it is given `--no-tls`.
   */
  tls?: TlsIdentity | null;
  /**
   * The user store. While it holds at least one user (re-read as it
   * changes), every connection must log in. Default: no accounts.
   */
  accounts?: Accounts | null;
  /**
   * Anonymous access without accounts (`--anonymous`): `read`, or `write`
   * (read, write and delete). Without it, anonymous clients get read, write
   * and delete on a loopback address and the server refuses to start on
   * any other (see `decideAccess`). Never `admin`.
   */
  anonymous?: AnonymousMode | undefined;
  /** Tuning of the login throttle (per address and account); its clock defaults to `clock`. */
  loginThrottle?: LoginThrottleOptions;
  /** A client that must log in has this long after WELCOME. Default 120,000 ms. */
  loginTimeoutMs?: number;
  /** Storage limits and where file owners are kept (see storage/quota.ts). */
  quota?: ServerQuota;
  /**
   * How long the local storage keeps an interrupted upload for a resume
   * (`--partial-ttl`), in ms. Default 24 hours.
   */
  partialTtlMs?: number;
}

/** Options of {@linkcode ServerOptions.quota}. */
export interface ServerQuota {
  /** Bytes all stored files may take together (`--quota`). Default: no limit. */
  limit?: number;
  /** Bytes an upload must leave free on the disk (`--min-free`). Default 0. */
  minFree?: number;
  /**
   * The folder of the owners journal (the state folder, possibly as the
   * path of a held descriptor). Default: owners are kept for this run only.
   */
  ownersDir?: string;
  /**
   * Free bytes on the storage's disk. Default: `statfs` of `root` for the
   * local backend; none for a storage given in `storage`.
   */
  freeSpace?: () => number;
}

/** A running server. `await using` shuts it down with no grace period. */
export interface FtsServer extends AsyncDisposable {
  /** Where it listens; `port` is the real port when 0 was asked. */
  readonly addr: { hostname: string; port: number };
  /** Resolves when the server has shut down and every connection is closed. */
  readonly finished: Promise<void>;
  /** Connections currently open (including ones being refused). */
  readonly connections: number;
  /** SHA-256 fingerprint of the TLS key (`SHA256:…`), or null for plain TCP. */
  readonly fingerprint: string | null;
  /** How clients get their permissions, as decided at start. */
  readonly access: AccessPolicy;
  /**
   * Stops accepting, sends GOING_AWAY to every client, refuses new requests
   * with `shutting_down`, lets running transfers finish for up to `graceMs`
   * (default: the server's `graceMs`), then aborts the rest (removing their
   * temporary files) and closes every connection. Idle connections close at
   * once. Calling it again with a shorter grace shortens the deadline (a
   * second signal uses 0). Resolves with {@linkcode finished}.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/**
 * Opens the storage, listens, and serves until shut down. Whether anonymous
 * clients are allowed is decided on the address actually bound: a server
 * without accounts on a non-loopback address refuses to start unless
 * `anonymous` is given, closing its listener before accepting anything.
 * An admin's SHUTDOWN starts the same graceful shutdown as
 * {@linkcode FtsServer.shutdown}, with the grace period it asks for capped
 * at `graceMs`.
 *
 * @throws {FtsError} when the data folder cannot be used;
 * {@linkcode AccessRefusedError} when access rules forbid starting (see
 * above).
 * @throws {RangeError} for an out-of-range option.
 * @throws {Deno.errors.AddrInUse} and other listen errors.
 * @example
 * ```ts
 * await using server = await startServer({ root: "./dados", port: 0 });
 * console.log(`listening on ${server.addr.hostname}:${server.addr.port}`);
 * ```
 */
export async function startServer(
  options: ServerOptions = {},
): Promise<FtsServer> {
  const clock = options.clock ?? systemClock;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  if (
    !Number.isSafeInteger(chunkSize) || chunkSize < 1 ||
    chunkSize > MAX_PAYLOAD - 8
  ) {
    throw new RangeError(`Chunk size ${chunkSize} is out of range`);
  }
  const limits = bandwidthLimits({
    perConnection: options.limitPerClient,
    total: options.limitTotal,
    clock,
  });
  const maxClients = options.maxClients ?? 64;
  const maxPerAddress = options.maxPerAddress ??
    Math.min(16, maxClients);
  for (
    const [name, value] of [["maxClients", maxClients], [
      "maxPerAddress",
      maxPerAddress,
    ]] as const
  ) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${name} ${value} is not a positive integer`);
    }
  }
  const root = options.root ?? "./dados";
  const inner = options.storage ??
    await LocalStorage.open(root, {
      clock,
      ...(options.partialTtlMs === undefined
        ? {}
        : { partialTtlMs: options.partialTtlMs }),
    });
  const tls = options.tls ?? null;
  const accounts = options.accounts ?? null;
  let storage: QuotaStorage;
  try {
    storage = await openQuota(inner, options, accounts, root);
  } catch (error) {
    if (!options.storage) await inner[Symbol.asyncDispose]();
    throw error;
  }
  let listener: Deno.TcpListener;
  let access: AccessPolicy;
  let front: TlsFront | null = null;
  try {
    const hostname = options.host ?? "127.0.0.1";
    const port = options.port ?? DEFAULT_PORT;
    listener = Deno.listen({ hostname, port, transport: "tcp" });
    try {
      const decision = decideAccess({
        usersExist: accounts?.hasUsers ?? false,
        host: listener.addr.hostname,
        anonymous: options.anonymous,
      });
      if (decision.kind === "refused") {
        throw new AccessRefusedError(decision);
      }
      access = decision;
      if (tls) front = new TlsFront(tls, { clock });
    } catch (error) {
      listener.close();
      throw error;
    }
  } catch (error) {
    await storage[Symbol.asyncDispose]();
    throw error;
  }
  const throttle = new LoginThrottle({ clock, ...options.loginThrottle });
  return new Server(listener, storage, {
    front,
    fingerprint: tls?.fingerprint ?? null,
    access,
    accounts,
    anonymous: options.anonymous,
    loginGate: accounts ? new LoginGate(accounts, throttle) : null,
    loginTimeoutMs: options.loginTimeoutMs ?? 120_000,
    // The quota storage is the server's own; it closes the backend only
    // when the server opened it.
    ownsStorage: true,
    clock,
    chunkSize,
    maxClients,
    maxPerAddress,
    graceMs: options.graceMs ?? 30_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
    features: options.features ?? KNOWN_FEATURES,
    limits,
    log: safeLog(options.log),
    signal: options.signal,
    expiryCheckMs: Math.min(
      HOUR_MS,
      Math.max(1000, options.partialTtlMs ?? DEFAULT_PARTIAL_TTL_MS),
    ),
  });
}

const HOUR_MS = 60 * 60 * 1000;

interface Settings {
  /** Terminates TLS; null for plain TCP. */
  readonly front: TlsFront | null;
  readonly fingerprint: string | null;
  readonly access: AccessPolicy;
  readonly accounts: Accounts | null;
  readonly anonymous: AnonymousMode | undefined;
  readonly loginGate: LoginGate | null;
  readonly loginTimeoutMs: number;
  readonly ownsStorage: boolean;
  readonly clock: Clock;
  readonly chunkSize: number;
  readonly maxClients: number;
  readonly maxPerAddress: number;
  readonly graceMs: number;
  readonly handshakeTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly features: readonly string[];
  /** Each new connection's bandwidth limits. */
  readonly limits: () => ConnectionLimits;
  readonly log: (line: string) => void;
  readonly signal: AbortSignal | undefined;
  /** How often partial uploads kept for a resume are checked for expiry. */
  readonly expiryCheckMs: number;
}

const AGENT = "fts-server/1";
const ACCEPT_RETRY_MS = 100;

class Server implements FtsServer {
  readonly addr: { hostname: string; port: number };
  readonly #listener: Deno.TcpListener;
  readonly #storage: QuotaStorage;
  readonly #settings: Settings;
  readonly #sessions = new Map<Session, Promise<void>>();
  /** Open connections per address network (see common/ip_address.ts). */
  readonly #perAddress = new Map<string, { count: number; logged: boolean }>();
  readonly #finished = Promise.withResolvers<void>();
  readonly #accepting: Promise<void>;
  #stopping = false;
  #refusing = 0;
  #deadline = Infinity;
  #graceTimer: TimerHandle | undefined;
  #retryTimer: TimerHandle | undefined;
  #expiryTimer: TimerHandle | undefined;
  readonly #onAbort = () => void this.shutdown();

  constructor(
    listener: Deno.TcpListener,
    storage: QuotaStorage,
    settings: Settings,
  ) {
    this.#listener = listener;
    this.#storage = storage;
    this.#settings = settings;
    const addr = listener.addr;
    this.addr = { hostname: addr.hostname, port: addr.port };
    this.#accepting = this.#acceptLoop();
    this.#armExpiry();
    if (settings.signal?.aborted) this.#onAbort();
    else settings.signal?.addEventListener("abort", this.#onAbort);
  }

  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  get connections(): number {
    return this.#sessions.size;
  }

  get fingerprint(): string | null {
    return this.#settings.fingerprint;
  }

  get access(): AccessPolicy {
    return this.#settings.access;
  }

  shutdown(graceMs: number = this.#settings.graceMs): Promise<void> {
    const { clock, log } = this.#settings;
    const deadline = clock.now() + Math.max(0, graceMs);
    if (!this.#stopping) {
      this.#stopping = true;
      log(
        `shutting down: ${this.#sessions.size} connection(s), grace ${
          graceMs / 1000
        } s`,
      );
      this.#listener.close();
      for (const session of this.#sessions.keys()) session.goAway(graceMs);
      void this.#finish();
    } else if (deadline < this.#deadline) {
      log("shutting down now");
    }
    if (deadline < this.#deadline) {
      this.#deadline = deadline;
      if (this.#graceTimer !== undefined) clock.clearTimeout(this.#graceTimer);
      this.#graceTimer = undefined;
      if (graceMs <= 0) {
        this.#abortAll();
      } else {
        this.#graceTimer = clock.setTimeout(() => this.#abortAll(), graceMs);
      }
    }
    return this.finished;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown(0);
  }

  /** Removes expired partial uploads now and then (see storage/quota.ts). */
  #armExpiry(): void {
    const { clock, expiryCheckMs, log } = this.#settings;
    this.#expiryTimer = clock.setTimeout(() => {
      this.#expiryTimer = undefined;
      if (this.#stopping) return;
      try {
        for (const gone of this.#storage.expirePartials()) {
          log(`removed the expired partial upload ${quoteName(gone.name)}`);
        }
      } catch (error) {
        log(`cannot remove expired partial uploads: ${String(error)}`);
      }
      this.#armExpiry();
    }, expiryCheckMs);
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#stopping) return;
        if (error instanceof Deno.errors.BadResource) return;
        this.#settings.log(`accept failed: ${(error as Error).message}`);
        await new Promise<void>((resolve) => {
          this.#retryTimer = this.#settings.clock.setTimeout(
            resolve,
            ACCEPT_RETRY_MS,
          );
        });
        this.#retryTimer = undefined;
        continue;
      }
      this.#serve(conn);
    }
  }

  #serve(tcp: Deno.TcpConn): void {
    const settings = this.#settings;
    const peer = formatAddr(tcp.remoteAddr);
    if (this.#stopping) {
      tcp.close();
      return;
    }
    const key = addressNetwork(tcp.remoteAddr.hostname) ??
      tcp.remoteAddr.hostname;
    const from = this.#perAddress.get(key) ?? { count: 0, logged: false };
    if (from.count >= settings.maxPerAddress) {
      tcp.close();
      if (!from.logged) {
        from.logged = true;
        settings.log(
          `${peer} refused: ${from.count} connections from this address already (the most per address); closing its further ones until one ends`,
        );
      }
      return;
    }
    const full = this.#sessions.size - this.#refusing >= settings.maxClients;
    if (full && this.#refusing >= settings.maxClients) {
      tcp.close();
      return;
    }
    from.count++;
    this.#perAddress.set(key, from);
    try {
      tcp.setNoDelay(true);
    } catch {
      // Only a latency hint for small replies.
    }
    const refuse = full
      ? new FtsError(
        "busy",
        `Cannot connect: the server is serving its maximum of ${settings.maxClients} clients; try again later`,
      )
      : undefined;
    const front = settings.front?.open(tcp) ?? null;
    const conn: SessionConn = front ?? tcp;
    const session = new Session(conn, {
      tls: front !== null,
      access: () => this.#accessFor(),
      loginGate: settings.loginGate,
      recheck: (login) =>
        standingOf(login, {
          accounts: settings.accounts,
          host: this.addr.hostname,
          anonymous: settings.anonymous,
        }),
      address: tcp.remoteAddr.hostname,
      loginTimeoutMs: settings.loginTimeoutMs,
      shutdownServer: (graceMs) => void this.shutdown(graceMs),
      maxGraceMs: settings.graceMs,
      storage: this.#storage,
      usage: (account) => this.#storage.report(account),
      clock: settings.clock,
      log: settings.log,
      peer,
      handshakeTimeoutMs: settings.handshakeTimeoutMs,
      idleTimeoutMs: settings.idleTimeoutMs,
      chunkSize: settings.chunkSize,
      features: settings.features,
      limits: settings.limits(),
      agent: AGENT,
      ...(refuse ? { refuse } : {}),
    });
    if (refuse) this.#refusing++;
    const done = session.run().then(() => front?.done).finally(() => {
      if (refuse) this.#refusing--;
      this.#sessions.delete(session);
      if (--from.count === 0) this.#perAddress.delete(key);
      else from.logged = false;
    });
    this.#sessions.set(session, done);
  }

  /**
   * How a new connection gets its permissions: it logs in while users exist
   * (the store is re-read when it changed, so `fts user add` on a running
   * server takes effect at once); otherwise anonymous access as decided
   * for the bound address.
   */
  async #accessFor(): Promise<AccessDecision> {
    const { accounts, anonymous } = this.#settings;
    if (accounts) {
      await accounts.refresh();
      if (accounts.hasUsers) return { kind: "login" };
    }
    return decideAccess({
      usersExist: false,
      host: this.addr.hostname,
      anonymous,
    });
  }

  #abortAll(): void {
    this.#graceTimer = undefined;
    const reason = new FtsError(
      "shutting_down",
      "The server shut down before the transfer finished",
    );
    for (const session of this.#sessions.keys()) session.abort(reason);
  }

  async #finish(): Promise<void> {
    try {
      await this.#accepting;
      while (this.#sessions.size > 0) {
        await Promise.all(this.#sessions.values());
      }
    } finally {
      const { clock, signal } = this.#settings;
      if (this.#graceTimer !== undefined) clock.clearTimeout(this.#graceTimer);
      if (this.#retryTimer !== undefined) clock.clearTimeout(this.#retryTimer);
      if (this.#expiryTimer !== undefined) {
        clock.clearTimeout(this.#expiryTimer);
      }
      signal?.removeEventListener("abort", this.#onAbort);
      this.#settings.front?.[Symbol.dispose]();
      if (this.#settings.ownsStorage) {
        await this.#storage[Symbol.asyncDispose]();
      }
      this.#settings.log("stopped");
      this.#finished.resolve();
    }
  }
}

/**
 * The quota storage in front of `inner`: counts its files, reads the
 * owners journal and opens it for appending.
 */
async function openQuota(
  inner: Storage,
  options: ServerOptions,
  accounts: Accounts | null,
  root: string,
): Promise<QuotaStorage> {
  const quota = options.quota ?? {};
  const dir = quota.ownersDir;
  const freeSpace = quota.freeSpace ??
    (options.storage ? undefined : () => {
      const s = fs.statfsSync(root);
      return s.bavail * s.bsize;
    });
  const storage = await QuotaStorage.open(inner, {
    ...(quota.limit === undefined ? {} : { limit: quota.limit }),
    ...(quota.minFree === undefined ? {} : { minFree: quota.minFree }),
    ...(freeSpace ? { freeSpace } : {}),
    ...(accounts ? { accountLimit: (name) => accounts.get(name)?.quota } : {}),
    ...(dir === undefined ? {} : { owners: readOwners(dir) }),
    ownsInner: !options.storage,
  });
  if (dir === undefined) return storage;
  try {
    storage.keepOwners(await OwnerJournal.open(dir, storage.owners()));
  } catch (error) {
    await storage[Symbol.asyncDispose]();
    throw new FtsError(
      "io",
      `Cannot write the owners of files to ${quoteName(dir, 200)}: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  return storage;
}

/** The log callback, made unable to break the server if it throws. */
function safeLog(
  log: ((line: string) => void) | undefined,
): (line: string) => void {
  if (!log) return () => {};
  return (line) => {
    try {
      log(line);
    } catch {
      // A broken log sink (closed stdout…) must not stop transfers.
    }
  };
}

/** `host:port`, with IPv6 hosts in brackets. */
function formatAddr(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") {
    return addr.transport;
  }
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}
