/**
 * `fts serve`: parses the command line, starts the server, prints where it
 * listens and one log line per operation, and shuts down gracefully on
 * SIGINT/SIGTERM (a second signal stops at once, still safely).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { FtsError } from "../protocol/errors.ts";
import { quoteName } from "../protocol/names.ts";
import { type FtsServer, startServer } from "./server.ts";

/**
 * Streams, environment and cancellation of one command. `Deno.stdin`,
 * `Deno.stdout` and `Deno.stderr` satisfy it; tests pass fakes.
 */
export interface CliIo {
  stdin: {
    readable: ReadableStream<Uint8Array>;
    isTerminal(): boolean;
    setRaw?(mode: boolean): void;
  };
  stdout: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  stderr: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  env: (name: string) => string | undefined;
  /** Aborting it acts like SIGTERM (a second abort cannot happen: use signals). */
  signal?: AbortSignal;
}

const USAGE = `Usage: fts serve [OPTIONS]

Serves the files of a folder to fts clients.

Options:
  --root DIR            data folder (default ./dados, created if missing)
  --host HOST           address to listen on (default 127.0.0.1)
  --port PORT           port to listen on, 0 for any free one (default 12345)
  --max-clients N       clients served at once (default 64)
  --grace SECONDS       on SIGINT/SIGTERM, time running transfers get to
                        finish (default 30); a second signal stops at once
  --idle-timeout SECONDS
                        close connections idle this long (default 300)
  --quiet               no per-operation log lines
  --help                show this help

Output: the first line on standard output is "listening on HOST:PORT".
Then one log line per operation goes to standard output (time, client
address, operation, name, bytes, milliseconds, result); errors go to
standard error.
`;

const SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];
const encoder = new TextEncoder();

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
    if (!(error instanceof TypeError)) throw error;
    write(io.stderr, `fts serve: ${error.message} (see "fts serve --help")\n`);
    return 2;
  }
  if (parsed === "help") {
    write(io.stdout, USAGE);
    return 0;
  }
  const log = parsed.quiet
    ? () => {}
    : (line: string) =>
      write(io.stdout, `${new Date().toISOString()} ${line}\n`);
  let server: FtsServer;
  try {
    server = await startServer({
      root: parsed.root,
      host: parsed.host,
      port: parsed.port,
      maxClients: parsed.maxClients,
      graceMs: parsed.graceMs,
      idleTimeoutMs: parsed.idleTimeoutMs,
      log,
    });
  } catch (error) {
    write(io.stderr, `fts: ${startError(error, parsed)}\n`);
    return 1;
  }
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  write(io.stdout, `listening on ${host}:${server.addr.port}\n`);

  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) void server.shutdown(parsed.graceMs);
    else void server.shutdown(0);
  };
  const installed: Deno.Signal[] = [];
  for (const signal of SIGNALS) {
    try {
      Deno.addSignalListener(signal, onSignal);
      installed.push(signal);
    } catch {
      // Not every platform has every signal (Windows has no SIGTERM).
    }
  }
  if (io.signal?.aborted) onSignal();
  io.signal?.addEventListener("abort", onSignal);
  try {
    await server.finished;
  } finally {
    io.signal?.removeEventListener("abort", onSignal);
    for (const signal of installed) Deno.removeSignalListener(signal, onSignal);
  }
  return 0;
}

interface ServeArgs {
  root: string;
  host: string;
  port: number;
  maxClients: number;
  graceMs: number;
  idleTimeoutMs: number;
  quiet: boolean;
}

/** @throws {TypeError} with a one-line message for any usage error. */
function parseServeArgs(args: string[]): ServeArgs | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      allowPositionals: false,
      strict: true,
      options: {
        root: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "max-clients": { type: "string" },
        grace: { type: "string" },
        "idle-timeout": { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new TypeError(firstLine((error as Error).message));
  }
  if (values.help) return "help";
  if (values.root === "") throw new TypeError("--root needs a folder");
  if (values.host === "") throw new TypeError("--host needs an address");
  return {
    root: values.root ?? "./dados",
    host: values.host ?? "127.0.0.1",
    port: integer("--port", values.port, 12345, 0, 65535),
    maxClients: integer("--max-clients", values["max-clients"], 64, 1, 100_000),
    graceMs: seconds("--grace", values.grace, 30, true),
    idleTimeoutMs: seconds(
      "--idle-timeout",
      values["idle-timeout"],
      300,
      false,
    ),
    quiet: values.quiet ?? false,
  };
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
    throw new TypeError(
      `${flag} must be a whole number from ${min} to ${max}, not ${
        quoteName(text, 40)
      }`,
    );
  }
  return n;
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
    throw new TypeError(
      `${flag} must be a number of seconds${zeroOk ? "" : " above 0"}, not ${
        quoteName(text, 40)
      }`,
    );
  }
  return Math.round(n * 1000);
}

function startError(error: unknown, args: ServeArgs): string {
  const where = `${args.host}:${args.port}`;
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
  return `Cannot start the server: ${firstLine(String(error))}`;
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0]!;
}

function write(out: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let n = 0;
  while (n < bytes.byteLength) n += out.writeSync(bytes.subarray(n));
}
