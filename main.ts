/**
 * fts: a file transfer system. `fts serve` runs the server, `fts connect`
 * the client; see `fts --help`.
 *
 * @module
 */

import { type CliIo, oneLine, writeText } from "./common/cli_io.ts";

/** The version printed by `fts --version` and sent in the handshake. */
export const VERSION = "0.1.0";

const USAGE = `fts ${VERSION}: fast, safe file transfer

Usage:
  fts serve [OPTIONS]              run a server over TLS (fts serve --help)
  fts connect [USER@]HOST[:PORT] [CMD]
                                   open a shell on a server, or run one command
                                   (fts connect --help)
  fts user add|del|list|passwd|perm|quota [NAME]
                                   manage the server's accounts (fts user --help)
  fts key gen|show                 manage your key for encrypted files
                                   (fts key --help)
  fts known-hosts list|rm HOST     the servers you trust; forget one
                                   (fts known-hosts --help)
  fts --version                    print the version

Run "fts COMMAND --help" for a command's options.
`;

/** What main needs of the process: its standard streams and environment. */
export type MainIo = CliIo;

/** Set to 1 to see the stack of an unexpected error after its one line. */
export const DEBUG_ENV = "FTS_DEBUG";

/**
 * Runs fts with `args` (without the program name); resolves to the exit
 * code. Never rejects: an error no command handled becomes one line on
 * standard error and exit status 1 (see {@linkcode reportUnexpected}).
 */
export async function main(args: string[], io: MainIo): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (error) {
    reportUnexpected(error, io);
    return 1;
  }
}

/**
 * Writes an error that no command handled as one line,
 * `fts: Unexpected error: MESSAGE`, with control characters and terminal
 * escapes removed; with `FTS_DEBUG=1` its stack follows.
 */
export function reportUnexpected(error: unknown, io: MainIo): void {
  const message = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  writeText(io.stderr, `fts: Unexpected error: ${oneLine(message)}\n`);
  if (io.env(DEBUG_ENV) === "1" && error instanceof Error && error.stack) {
    writeText(io.stderr, error.stack + "\n");
  }
}

// Each command's module is loaded only when that command runs: a client
// never loads the server (nor the server its x509 code for a client), and
// a one-shot command starts sooner for every module it does not load.
async function dispatch(args: string[], io: MainIo): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "serve": {
      const { serveCommand } = await import("./server/cli/serve_cli.ts");
      return await serveCommand(rest, io);
    }
    case "connect": {
      const { connectCommand } = await import("./client/cli/connect_cli.ts");
      return await connectCommand(rest, io);
    }
    case "user": {
      const { userCommand } = await import("./server/cli/user_cli.ts");
      return await userCommand(rest, io);
    }
    case "key": {
      const { keyCommand } = await import("./client/cli/key_cli.ts");
      return await keyCommand(rest, io);
    }
    case "known-hosts": {
      const { knownHostsCommand } = await import(
        "./client/cli/known_hosts_cli.ts"
      );
      return await knownHostsCommand(rest, io);
    }
    case "--version":
    case "-V":
      write(io, "stdout", `fts ${VERSION}\n`);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      write(io, command === undefined ? "stderr" : "stdout", USAGE);
      return command === undefined ? 2 : 0;
    default:
      write(
        io,
        "stderr",
        `fts: Unknown command "${command}" (try "fts --help")\n`,
      );
      return 2;
  }
}

function write(io: MainIo, stream: "stdout" | "stderr", text: string): void {
  writeText(io[stream], text);
}

if (import.meta.main) {
  const io: MainIo = {
    stdin: Deno.stdin,
    stdout: Deno.stdout,
    stderr: Deno.stderr,
    env: (name: string) => Deno.env.get(name),
  };
  // What escapes every await (a callback's throw, a promise nobody
  // awaited) is still one line and exit 1, never Deno's stack trace.
  const fatal = (event: ErrorEvent | PromiseRejectionEvent) => {
    event.preventDefault();
    reportUnexpected("reason" in event ? event.reason : event.error, io);
    Deno.exit(1);
  };
  globalThis.addEventListener("error", fatal);
  globalThis.addEventListener("unhandledrejection", fatal);
  Deno.exit(await main(Deno.args, io));
}
