/**
 * `fts connect [USER@]HOST[:PORT] [--dir DIR] [--quiet] [--compress auto|off]
 * [--checksum xxh128|sha256] [--limit RATE] [--batch FILE|-] [TLS and login options] [COMMAND ARGS…]`: the
 * interactive shell, a batch of commands, or one command, over TLS with the
 * server's identity pinned (see connect_setup.ts). Exit status 0 on
 * success, 1 when an operation failed, 2 for a usage error; errors are one
 * line on standard error.
 *
 * @module
 */

import { resolve } from "node:path";
import { type CliIo, failWith } from "../../common/cli_io.ts";
import { SignalPresses } from "../../common/interrupts.ts";
import { PASSWORD_ENV } from "../../common/secret_input.ts";
import { parseRate } from "../../common/rate_limit.ts";
import {
  parseCommandLine,
  USAGE_STATUS,
  UsageError,
} from "../../common/usage_error.ts";
import { FtsError } from "../../protocol/errors.ts";
import { quoteName } from "../../protocol/names.ts";
import type { Word } from "../shell/command_parse.ts";
import type { CommandOutput, ShellState } from "../shell/commands.ts";
import {
  type Connector,
  prepareConnector,
  SECURITY_OPTIONS,
  SECURITY_VALUE_OPTIONS,
} from "./connect_setup.ts";
import { formatDuration } from "../term/format.ts";
import { CONNECT_USAGE } from "../shell/help.ts";
import type { LineSource } from "../term/line_input.ts";
import { reclaimPartFiles } from "../engine/local_files.ts";
import { writeText } from "../term/progress.ts";
import { DEFAULT_STALL_TIMEOUT_MS } from "../engine/stall_watchdog.ts";
import {
  type ClientSession,
  type GoingAway,
  openSession,
} from "../engine/session.ts";
import type { InterruptSource } from "../shell/shell.ts";
import {
  formatTarget,
  type LoginTarget,
  parseLoginTarget,
} from "../connect/target.ts";
import type { Clock } from "../../common/clock.ts";
import {
  DEFAULT_RETRIES,
  MAX_RETRIES,
  type RetryEvent,
} from "../engine/retry.ts";
import type { CommandRetry } from "../shell/command_context.ts";

/** Options that take a value, so the command after them can be found. */
const VALUE_OPTIONS = new Set([
  "--dir",
  "--batch",
  "-b",
  "--timeout",
  "--compress",
  "--checksum",
  "--limit",
  "--retries",
  ...SECURITY_VALUE_OPTIONS,
]);

const OPTIONS = {
  dir: { type: "string" },
  batch: { type: "string", short: "b" },
  quiet: { type: "boolean", short: "q" },
  compress: { type: "string" },
  checksum: { type: "string" },
  limit: { type: "string" },
  timeout: { type: "string" },
  retries: { type: "string" },
  help: { type: "boolean", short: "h" },
  ...SECURITY_OPTIONS,
} as const;

/** Options of {@linkcode connectCommand}, for tests. */
export interface ConnectCommandOptions {
  /** The clock of the waits between retries. Default: the system's. */
  clock?: Clock;
  /** The retries' jitter source in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** Runs `fts connect` with `args` (after the word "connect"). */
export async function connectCommand(
  args: string[],
  io: CliIo,
  options: ConnectCommandOptions = {},
): Promise<number> {
  const fail = (message: string, status: number) =>
    failWith(io, message, status);
  // Options and HOST come first; the first word after HOST starts the command.
  let split = args.length;
  const password = args.findIndex((arg) => /^--?password(=|$)/.test(arg));
  let seenTarget = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      split = i;
      break;
    }
    if (arg.startsWith("-") && arg !== "-") {
      if (VALUE_OPTIONS.has(arg)) i++;
      continue;
    }
    if (seenTarget) {
      split = i;
      break;
    }
    seenTarget = true;
  }
  if (password >= 0 && password < split) {
    // Never echoed: the next word may be the password itself.
    return fail(
      `--password is not accepted: a password on the command line is visible to other users; use --password-file FILE or ${PASSWORD_ENV}, or type it when asked`,
      USAGE_STATUS,
    );
  }
  let parsed;
  try {
    parsed = parseCommandLine({
      args: args.slice(0, split),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return fail(`${error.message} (try "fts connect --help")`, USAGE_STATUS);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    writeText(io.stdout, CONNECT_USAGE);
    return 0;
  }
  const command = args.slice(args[split] === "--" ? split + 1 : split);
  if (positionals.length !== 1) {
    return fail('Missing HOST[:PORT] (try "fts connect --help")', USAGE_STATUS);
  }
  let login: LoginTarget;
  try {
    login = parseLoginTarget(positionals[0]!);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return fail(error.message, USAGE_STATUS);
  }
  const target = login.target;
  if (values.batch !== undefined && command.length > 0) {
    return fail("Give either --batch or a command, not both", USAGE_STATUS);
  }
  let stallTimeoutMs = DEFAULT_STALL_TIMEOUT_MS;
  if (values.timeout !== undefined) {
    const seconds = /^\d+(\.\d+)?$/.test(values.timeout)
      ? Number(values.timeout)
      : NaN;
    if (!(seconds >= 0 && seconds <= 86_400 * 365)) {
      return fail(
        `--timeout must be a number of seconds (0 for none), not ${
          quoteName(values.timeout, 40)
        }`,
        USAGE_STATUS,
      );
    }
    stallTimeoutMs = Math.round(seconds * 1000);
  }
  let retries = DEFAULT_RETRIES;
  if (values.retries !== undefined) {
    retries = /^\d{1,3}$/.test(values.retries) ? Number(values.retries) : NaN;
    if (!(retries <= MAX_RETRIES)) {
      return fail(
        `--retries must be a whole number from 0 to ${MAX_RETRIES}, not ${
          quoteName(values.retries, 40)
        }`,
        USAGE_STATUS,
      );
    }
  }
  const compress = values.compress ?? "auto";
  if (compress !== "auto" && compress !== "off") {
    return fail(
      `--compress must be auto or off, not ${quoteName(compress, 40)}`,
      USAGE_STATUS,
    );
  }
  const checksum = values.checksum ?? "xxh128";
  if (checksum !== "xxh128" && checksum !== "sha256") {
    return fail(
      `--checksum must be xxh128 or sha256, not ${quoteName(checksum, 40)}`,
      USAGE_STATUS,
    );
  }
  let limit: number | undefined;
  if (values.limit !== undefined) {
    try {
      limit = parseRate(values.limit, "--limit");
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      return fail(error.message, USAGE_STATUS);
    }
  }
  const localDir = resolve(values.dir ?? Deno.cwd());
  try {
    if (!Deno.statSync(localDir).isDirectory) {
      return fail(
        `Cannot use ${
          quoteName(localDir)
        } as the local folder: it is not a folder`,
        USAGE_STATUS,
      );
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return fail(
      `Cannot use ${quoteName(localDir)} as the local folder: no such folder`,
      USAGE_STATUS,
    );
  }
  // Temporary files of a client killed mid-download (none still in use).
  reclaimPartFiles(localDir);

  let connector: Connector;
  try {
    const prepared = await prepareConnector(values, {
      login,
      io,
      quiet: values.quiet ?? false,
    });
    if (typeof prepared === "string") return fail(prepared, USAGE_STATUS);
    connector = prepared;
  } catch (error) {
    if (!(error instanceof FtsError)) throw error;
    return fail(error.message, 1);
  }

  const interactive = values.batch === undefined && command.length === 0 &&
    io.stdin.isTerminal();
  const output: CommandOutput = {
    out: io.stdout,
    err: io.stderr,
    progress: io.stderr.isTerminal() && !values.quiet,
    quiet: values.quiet ?? false,
    columns: terminalColumns(io),
    ...(io.stdout.write
      ? { data: { write: (p: Uint8Array) => io.stdout.write!(p) } }
      : {}),
  };
  const stop = new AbortController();
  const interrupts = io.signal ? null : signalInterrupts();
  const unlisten = interactive
    ? undefined
    : interrupts?.listen(() => stop.abort());
  const onOuterAbort = () => stop.abort();
  io.signal?.addEventListener("abort", onOuterAbort, { once: true });
  let notices: LineSource | null = null;
  const openOnce = () =>
    openSession(target, {
      // Commands get `stop.signal`, so that Ctrl-C cancels a transfer
      // cleanly; the session itself ends only with the process.
      ...(io.signal ? { signal: io.signal } : {}),
      compress: compress === "auto",
      checksum,
      ...(limit === undefined ? {} : { limit }),
      stallTimeoutMs,
      connect: (where) => connector.connect(where),
      login: () => connector.credentials(),
      onGoingAway: (notice) => {
        const text = goingAwayText(notice);
        if (notices) notices.notice(text);
        // A progress bar may be on the line: the notice takes its place,
        // and the bar redraws below it.
        else {writeText(
            io.stderr,
            `${output.progress ? CLEAR_LINE : ""}${text}\n`,
          );}
      },
    });
  // A password typed on the terminal is asked again after a refusal, like
  // ssh: three tries in all.
  const connect = async (): Promise<ClientSession> => {
    for (let attempt = 1;; attempt++) {
      try {
        return await openOnce();
      } catch (error) {
        if (!connector.retryLogin(error, attempt)) throw error;
        const message = error instanceof FtsError
          ? connector.explain(error)
          : String(error);
        if (notices) notices.notice(`${message}; try again`);
        else writeText(io.stderr, `fts: ${message}; try again\n`);
      }
    }
  };
  // A one-shot command's code loads while the connection is being made.
  const commands = command.length > 0 ? import("../shell/commands.ts") : null;
  commands?.catch(() => {}); // awaited below, where a failure is reported
  let session: ClientSession;
  try {
    session = await connect();
  } catch (error) {
    unlisten?.();
    io.signal?.removeEventListener("abort", onOuterAbort);
    await interrupts?.close();
    if (!(error instanceof FtsError)) throw error;
    return fail(connector.explain(error), 1);
  }
  const state: ShellState = {
    session,
    localDir: Deno.realPathSync(localDir),
    remoteDir: "",
    remoteListing: null,
    localListing: null,
    vault: { env: io.env },
    // Without a person reading the listings, a number must come from one.
    numbersNeedListing: !interactive,
    // Free for `put - NAME` unless it carries the commands.
    ...(command.length > 0 ||
        (values.batch !== undefined && values.batch !== "-")
      ? { stdin: io.stdin.readable }
      : {}),
  };
  const retry: CommandRetry = {
    retries,
    reconnect: async () => {
      const old = state.session;
      await old.close();
      state.session = await connect();
    },
    onRetry: (event, transfer) => {
      const text = retryText(event, {
        transfer,
        where: formatTarget(target),
        explain: (error) => connector.explain(error),
      });
      if (notices) notices.notice(text);
      else {writeText(
          io.stderr,
          `${output.progress ? CLEAR_LINE : ""}${text}\n`,
        );}
    },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.random ? { random: options.random } : {}),
  };
  try {
    if (values.batch !== undefined) {
      const { runBatch } = await import("./connect_batch.ts");
      return await runBatch(values.batch, {
        io,
        state,
        output,
        signal: stop.signal,
        retry,
        fail,
      });
    }
    if (command.length > 0) {
      const words: Word[] = command.map((text) => ({ text, quoted: false }));
      const { runWords } = await (commands ?? import("../shell/commands.ts"));
      const result = await runWords(words, {
        state,
        output,
        signal: stop.signal,
        retry,
      });
      if (result.status === "ok" || result.status === "exit") return 0;
      return fail(result.message, result.status === "usage" ? USAGE_STATUS : 1);
    }
    const { runShellSession } = await import("./connect_shell.ts");
    return await runShellSession({
      io,
      state,
      output,
      interactive,
      connector,
      reconnect: connect,
      retry,
      ...(interrupts ? { interrupts } : {}),
      signal: stop.signal,
      columns: () => terminalColumns(io),
      onNotices: (source) => {
        notices = source;
      },
    });
  } finally {
    unlisten?.();
    io.signal?.removeEventListener("abort", onOuterAbort);
    await state.session.close();
    await interrupts?.close();
  }
}

/** Moves to the start of the line and erases it (a progress bar's). */
const CLEAR_LINE = "\r\x1b[K";

/**
 * The server's shutdown notice in its own words, with the grace period:
 * `Notice from the server: "…" (running transfers may finish within 30 s).`
 */
function goingAwayText(notice: GoingAway): string {
  const grace = `running transfers may finish within ${
    formatDuration(notice.graceMs)
  }`;
  return notice.reason.trim() === ""
    ? `The server is shutting down; ${grace}.`
    : `Notice from the server: ${quoteName(notice.reason, 80)} (${grace}).`;
}

/**
 * One line for a retry about to wait, e.g. `Server is shutting down;
 * resuming in 2 s (try 1 of 5)`.
 */
function retryText(
  event: RetryEvent,
  context: {
    transfer: boolean;
    where: string;
    explain: (error: FtsError) => string;
  },
): string {
  const again = event.reason === "connect_failed"
    ? "trying again"
    : context.transfer
    ? "resuming"
    : "retrying";
  const when = `${again} in ${
    formatDuration(event.delayMs)
  } (try ${event.attempt} of ${event.retries})`;
  switch (event.reason) {
    case "going_away":
      return `Server is shutting down; ${when}`;
    case "connection_lost":
      return `The connection to ${context.where} was lost; ${when}`;
    case "stalled":
      return `${event.error.message}; ${when}`;
    case "connect_failed":
      return `${context.explain(event.error)}; ${when}`;
  }
}

function terminalColumns(io: CliIo): number {
  const fromEnv = Number(io.env("COLUMNS"));
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  if (io.stderr.isTerminal()) {
    try {
      return Deno.consoleSize().columns;
    } catch {
      // not a console after all
    }
  }
  return 80;
}

/**
 * Ctrl-C as an interrupt source: each press goes once to every current
 * listener; a press that finds no listener it has not reached yet (a
 * second press while a cancelled command is still ending, or a press
 * outside any command) ends the process as SIGINT would. A launcher's
 * forwarded copy of a press is not a second press (common/interrupts.ts).
 */
function signalInterrupts(): InterruptSource & { close(): Promise<void> } {
  const listeners = new Map<() => void, { fired: boolean }>();
  const presses = new SignalPresses(["SIGINT"], () => {
    const pending = [...listeners].filter(([, state]) => !state.fired);
    if (pending.length === 0) {
      presses.release();
      Deno.kill(Deno.pid, "SIGINT");
      return;
    }
    for (const [listener, state] of pending) {
      state.fired = true;
      listener();
    }
  });
  return {
    listen(listener) {
      if (!presses.listening) return () => {};
      listeners.set(listener, { fired: false });
      return () => listeners.delete(listener);
    },
    close: () => presses.close(),
  };
}
