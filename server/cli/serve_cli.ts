/**
 * `fts serve`: parses the command line, loads the server's TLS identity and
 * accounts from its state folder, starts the server, prints where it
 * listens, its fingerprint and one log line per operation, and shuts down
 * gracefully on SIGINT/SIGTERM or an admin's `shutdown` (a second press
 * stops at once, still safely; a launcher's forwarded copy of the first
 * signal is not a second press, see common/interrupts.ts).
 *
 * @module
 */

import { isAbsolute, join, relative, resolve, sep as SEP } from "node:path";
import { type CliIo, writeText } from "../../common/cli_io.ts";
import { DEFAULT_PORT } from "../../protocol/frame.ts";
import { SignalPresses } from "../../common/interrupts.ts";
import { isLookupFailure } from "../../common/host_lookup.ts";
import { looksLikeIpv4, parseIpLiteral } from "../../common/ip_address.ts";
import { ensurePrivateDir } from "../../common/private_files.ts";
import { parseRate } from "../../common/rate_limit.ts";
import {
  parseCommandLine,
  USAGE_STATUS,
  UsageError,
} from "../../common/usage_error.ts";
import { FtsError } from "../../protocol/errors.ts";
import { quoteName } from "../../protocol/names.ts";
import { parseSize } from "../../common/sizes.ts";
import { type Accounts, loadAccounts } from "../auth/accounts.ts";
import {
  type AnonymousMode,
  formatPermissions,
  parseAnonymousMode,
} from "../auth/permissions.ts";
import { openOwnFolder, STATE_DIR } from "../storage/local/rooted_paths.ts";
import { type FtsServer, startServer } from "../server.ts";
import {
  loadCustomIdentity,
  loadOrCreateIdentity,
  type TlsIdentity,
} from "../tls/tls_identity.ts";

const USAGE = `Usage: fts serve [OPTIONS]

Serves the files of a folder to fts clients, over TLS.

Options:
  --root DIR            data folder (default ./dados, created if missing)
  --host HOST           address to listen on (default 127.0.0.1)
  --port PORT           port to listen on, 0 for any free one (default 12345)
  --state DIR           state folder: TLS key, users (default ROOT/${STATE_DIR},
                        never listed or served)
  --cert FILE --key FILE
                        present this certificate chain (PEM, leaf first) and
                        key instead of the generated identity; clients verify
                        it against their system roots
  --no-tls              plain TCP, not encrypted: only on a trusted network,
                        and clients must pass --no-tls too
  --anonymous read|write
                        without user accounts, let anyone connect with read
                        (or read, write and delete) permission; needed to
                        listen on a non-loopback address without accounts
  --max-clients N       clients served at once (default 64); each holds at
                        most about 28 MiB of the server's memory (see README)
  --max-per-address N   connections open at once from one address (an IPv6
                        /64 counts as one), before any handshake; more are
                        closed at once (default 16, or --max-clients if lower)
  --grace SECONDS       on SIGINT/SIGTERM or a remote shutdown, time running
                        transfers get to finish (default 30; a remote
                        shutdown may ask for less); a second signal stops at once
  --idle-timeout SECONDS
                        close connections idle this long (default 300): no
                        request, no transfer progress; PING alone is idle
  --limit-per-client RATE
                        bandwidth of each connection, in bytes per second
                        in each direction: 500K, 10M, 1G (K, M, G are
                        powers of 1024, KB, MB, GB of 1000, as rsync reads
                        them); default none
  --limit-total RATE    bandwidth of all connections together, in bytes per
                        second in each direction, shared fairly between
                        them; default none
  --quota SIZE          bytes all stored files may take together, e.g. 500M,
                        10G, 1.5T (K, M, G, T are 1024-based; KB, MB, GB, TB
                        1000-based); uploads that would pass it are refused
                        before any data flows (per user: "fts user quota")
  --min-free SIZE       refuse uploads that would leave less than SIZE free
                        on the disk (default 0: only what fits)
  --partial-ttl DURATION
                        keep interrupted uploads this long for a resume
                        (default 24h; 90s, 30m, 12h, 7d, or seconds); they
                        count against the quotas until they are removed
  --quiet               no per-operation log lines
  --help                show this help

On first start the server creates its key and a self-signed certificate in
the state folder (mode 0600). Clients pin its fingerprint like ssh's
known_hosts. Accounts: "fts user add NAME" (see "fts user --help"); while
any exist, every client logs in. Without accounts, anonymous clients may
read, write and delete on a loopback address (127.0.0.1, ::1); on any other
the server refuses to start unless --anonymous is given.

Output: the first line on standard output is "listening on HOST:PORT", the
second "fingerprint SHA256:…" (not with --no-tls). Then one log line per
operation goes to standard output (time, client address, user, operation,
name, bytes, milliseconds, result); errors go to standard error. Passwords
are never logged.
`;

const SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

/**
 * Runs `fts serve` with `args` (after the word "serve"). Resolves with the
 * exit code: 0 after a clean shutdown, 1 when the server cannot start, 2 for
 * a usage error.
 *
 * @example
 * ```ts
 * const code = await serveCommand(["--port", "0", "--root", dir], { ...io, signal });
 * ```
 */
export async function serveCommand(args: string[], io: CliIo): Promise<number> {
  let parsed: ServeArgs | "help";
  try {
    parsed = parseServeArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    write(io.stderr, `fts serve: ${error.message} (see "fts serve --help")\n`);
    return USAGE_STATUS;
  }
  if (parsed === "help") {
    write(io.stdout, USAGE);
    return 0;
  }
  const log = parsed.quiet
    ? () => {}
    : (line: string) =>
      write(io.stdout, `${new Date().toISOString()} ${line}\n`);
  const stateProblem = await checkStateDir(parsed);
  if (stateProblem !== null) {
    write(io.stderr, `fts serve: ${stateProblem}\n`);
    return 2;
  }
  let accounts: Accounts;
  let ownersDir: string;
  let identity: TlsIdentity | null = null;
  let server: FtsServer;
  // The state folder is held open while the server runs and its files are
  // reached through that descriptor: a folder swapped in later is never read.
  using held = new DisposableStack();
  try {
    await ensurePrivateDir(parsed.stateDir);
    const state = held.use(openOwnFolder(parsed.stateDir));
    accounts = await loadAccounts(parsed.stateDir, { through: state.path });
    ownersDir = state.path;
    if (parsed.tls === "custom") {
      identity = await loadCustomIdentity(parsed.certFile, parsed.keyFile);
    } else if (parsed.tls === "generated") {
      identity = await loadOrCreateIdentity(state.path);
    }
  } catch (error) {
    const detail = firstLine(errorMessage(error));
    write(
      io.stderr,
      parsed.tls === "custom" &&
        (error instanceof Deno.errors.NotFound ||
          error instanceof Deno.errors.PermissionDenied)
        ? `fts: Cannot read the TLS certificate or key: ${detail}\n`
        : `fts: ${detail}\n`,
    );
    return 1;
  }
  if (identity === null) {
    write(
      io.stderr,
      "fts: warning: --no-tls: connections are not encrypted; passwords and files cross the network in clear text\n",
    );
  }
  try {
    server = await startServer({
      root: parsed.root,
      host: parsed.host,
      port: parsed.port,
      maxClients: parsed.maxClients,
      maxPerAddress: parsed.maxPerAddress,
      graceMs: parsed.graceMs,
      idleTimeoutMs: parsed.idleTimeoutMs,
      limitPerClient: parsed.limitPerClient,
      limitTotal: parsed.limitTotal,
      tls: identity,
      accounts,
      anonymous: parsed.anonymous,
      log,
      partialTtlMs: parsed.partialTtlMs,
      quota: {
        ownersDir,
        ...(parsed.quota === undefined ? {} : { limit: parsed.quota }),
        ...(parsed.minFree === undefined ? {} : { minFree: parsed.minFree }),
      },
    });
  } catch (error) {
    const message = await isLookupFailure(parsed.host, error)
      ? `Cannot listen on ${hostPort(parsed)}: host not found`
      : startError(error, parsed);
    write(io.stderr, `fts: ${message}\n`);
    return 1;
  }
  // Listening for signals before saying "listening on": whoever waits for
  // that line may stop the server at once.
  const presses = new SignalPresses(SIGNALS, (count) => {
    void server.shutdown(count === 1 ? parsed.graceMs : 0);
  });
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  write(io.stdout, `listening on ${host}:${server.addr.port}\n`);
  if (identity !== null) {
    write(io.stdout, `fingerprint ${identity.fingerprint}\n`);
    if (identity.created) {
      log(`created a new TLS identity in ${quoteName(parsed.stateDir, 200)}`);
    }
  }
  const access = server.access;
  log(
    access.kind === "login"
      ? `accounts: ${accounts.list().length} user(s); every client logs in`
      : `no accounts: anonymous clients may ${formatPermissions(access.perms)}`,
  );

  const onAbort = () => presses.press();
  if (io.signal?.aborted) onAbort();
  io.signal?.addEventListener("abort", onAbort);
  try {
    await server.finished;
  } finally {
    io.signal?.removeEventListener("abort", onAbort);
    await presses.close();
  }
  return 0;
}

interface ServeArgs {
  root: string;
  stateDir: string;
  /** Generated identity (default), `--cert`/`--key`, or `--no-tls`. */
  tls: "generated" | "custom" | "none";
  certFile: string;
  keyFile: string;
  anonymous: AnonymousMode | undefined;
  host: string;
  port: number;
  maxClients: number;
  maxPerAddress: number;
  graceMs: number;
  idleTimeoutMs: number;
  /** Bytes per second, each direction; undefined for none. */
  limitPerClient: number | undefined;
  limitTotal: number | undefined;
  quota: number | undefined;
  minFree: number | undefined;
  partialTtlMs: number;
  quiet: boolean;
}

/** @throws {UsageError} with a one-line message for any usage error. */
function parseServeArgs(args: string[]): ServeArgs | "help" {
  const { values } = parseCommandLine({
    args,
    allowPositionals: false,
    strict: true,
    options: {
      root: { type: "string" },
      state: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      "no-tls": { type: "boolean" },
      anonymous: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      "max-clients": { type: "string" },
      "max-per-address": { type: "string" },
      grace: { type: "string" },
      "idle-timeout": { type: "string" },
      "limit-per-client": { type: "string" },
      "limit-total": { type: "string" },
      quota: { type: "string" },
      "min-free": { type: "string" },
      "partial-ttl": { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (values.root === "") throw new UsageError("--root needs a folder");
  if (values.host === "") throw new UsageError("--host needs an address");
  if (values.state === "") throw new UsageError("--state needs a folder");
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  if (values["no-tls"] && values.cert !== undefined) {
    throw new UsageError("--no-tls cannot be combined with --cert and --key");
  }
  let anonymous: AnonymousMode | undefined;
  if (values.anonymous !== undefined) {
    try {
      anonymous = parseAnonymousMode(values.anonymous);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new UsageError(error.message, { cause: error });
    }
  }
  const root = values.root ?? "./dados";
  const maxClients = integer(
    "--max-clients",
    values["max-clients"],
    64,
    1,
    100_000,
  );
  return {
    root,
    stateDir: values.state ?? join(root, STATE_DIR),
    tls: values["no-tls"]
      ? "none"
      : values.cert !== undefined
      ? "custom"
      : "generated",
    certFile: values.cert ?? "",
    keyFile: values.key ?? "",
    anonymous,
    host: listenHost(values.host ?? "127.0.0.1"),
    port: integer("--port", values.port, DEFAULT_PORT, 0, 65535),
    maxClients,
    maxPerAddress: integer(
      "--max-per-address",
      values["max-per-address"],
      Math.min(16, maxClients),
      1,
      100_000,
    ),
    graceMs: seconds("--grace", values.grace, 30, true),
    idleTimeoutMs: seconds(
      "--idle-timeout",
      values["idle-timeout"],
      300,
      false,
    ),
    limitPerClient: rate("--limit-per-client", values["limit-per-client"]),
    limitTotal: rate("--limit-total", values["limit-total"]),
    quota: size("--quota", values.quota),
    minFree: size("--min-free", values["min-free"]),
    partialTtlMs: duration("--partial-ttl", values["partial-ttl"], 86_400),
    quiet: values.quiet ?? false,
  };
}

function rate(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseRate(text, flag);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new UsageError(error.message, { cause: error });
  }
}

function integer(
  flag: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${flag} must be a whole number from ${min} to ${max}, not ${
        quoteName(text, 40)
      }`,
    );
  }
  return n;
}

function size(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSize(text);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new UsageError(`${flag}: ${error.message}`, { cause: error });
  }
}

function seconds(
  flag: string,
  text: string | undefined,
  fallback: number,
  zeroOk: boolean,
): number {
  if (text === undefined) return fallback * 1000;
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n > 86_400 * 365 || (!zeroOk && n === 0)) {
    throw new UsageError(
      `${flag} must be a number of seconds${zeroOk ? "" : " above 0"}, not ${
        quoteName(text, 40)
      }`,
    );
  }
  return Math.round(n * 1000);
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
};

/** A duration such as `90s`, `30m`, `24h`, `7d` or `600` (seconds), in ms. */
function duration(
  flag: string,
  text: string | undefined,
  fallbackSeconds: number,
): number {
  if (text === undefined) return fallbackSeconds * 1000;
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text);
  const n = m ? Number(m[1]) * DURATION_UNITS[m[2]!]! : NaN;
  if (!Number.isFinite(n) || n <= 0 || n > 86_400 * 3650) {
    throw new UsageError(
      `${flag} must be a duration above 0 such as 90s, 30m, 24h or 7d, not ${
        quoteName(text, 40)
      }`,
    );
  }
  return Math.round(n * 1000);
}

/**
 * The address `--host` names: an IP literal (IPv6 with or without
 * brackets) or a host name; a malformed literal is a usage error rather
 * than a name to look up.
 */
function listenHost(text: string): string {
  const bare = /^\[.*\]$/.test(text) ? text.slice(1, -1) : text;
  if (bare.includes(":") || looksLikeIpv4(bare)) {
    const ip = parseIpLiteral(bare);
    if (ip === null || ip.zone !== null) {
      throw new UsageError(
        `--host ${
          JSON.stringify(text)
        } is not an IP address (a port goes in --port)`,
      );
    }
    return ip.address;
  }
  return bare;
}

/** `HOST:PORT`, with an IPv6 address in brackets. */
function hostPort(args: { host: string; port: number }): string {
  const host = args.host.includes(":") ? `[${args.host}]` : args.host;
  return `${host}:${args.port}`;
}

function startError(error: unknown, args: ServeArgs): string {
  const where = hostPort(args);
  if (error instanceof Deno.errors.AddrInUse) {
    return `Cannot listen on ${where}: the address is already in use`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `Cannot listen on ${where}: no such local address`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `Cannot listen on ${where}: permission denied`;
  }
  if (error instanceof FtsError) return firstLine(error.message);
  if (error instanceof RangeError) return firstLine(error.message);
  return `Cannot start the server: ${firstLine(String(error))}`;
}

/**
 * Refuses a state folder inside the data folder (other than ROOT/.fts,
 * which the server never serves): clients could read the TLS key and the
 * password hashes there.
 */
async function checkStateDir(args: ServeArgs): Promise<string | null> {
  const root = await realPathOrSelf(resolve(args.root));
  const state = await realPathOrSelf(resolve(args.stateDir));
  const inside = relative(root, state);
  const outside = inside === ".." || inside.startsWith(`..${SEP}`) ||
    isAbsolute(inside);
  if (outside) return null;
  const first = inside.split(/[\\/]/)[0];
  if (first === STATE_DIR) return null;
  return `Cannot use ${
    quoteName(args.stateDir, 200)
  } as the state folder: it is inside the data folder, where clients could read it (use ${
    quoteName(join(args.root, STATE_DIR), 200)
  } or a folder outside)`;
}

/** The real path of `path`, or of its nearest existing parent joined with the rest. */
async function realPathOrSelf(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    const parent = resolve(path, "..");
    if (parent === path) return path;
    return join(await realPathOrSelf(parent), relative(parent, path));
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0]!;
}

function write(out: { writeSync(p: Uint8Array): number }, text: string): void {
  writeText(out, text);
}
