/**
 * fts: a file transfer system. `fts serve` runs the server, `fts connect`
 * the client; see `fts --help`.
 *
 * @module
 */

import { connectCommand } from "./client/cli.ts";
import { keyCommand } from "./client/key_cli.ts";
import type { CliIo } from "./io/cli_io.ts";
import { serveCommand } from "./server/cli.ts";
import { userCommand } from "./server/user_cli.ts";

/** The version printed by `fts --version` and sent in the handshake. */
export const VERSION = "0.1.0";

const USAGE = `fts ${VERSION}: fast, safe file transfer

Usage:
  fts serve [OPTIONS]              run a server over TLS (fts serve --help)
  fts connect [USER@]HOST[:PORT] [CMD]
                                   open a shell on a server, or run one command
                                   (fts connect --help)
  fts user add|del|list|passwd|perm [NAME]
                                   manage the server's accounts (fts user --help)
  fts key gen|show                 manage your key for encrypted files
                                   (fts key --help)
  fts --version                    print the version

Run "fts COMMAND --help" for a command's options.
`;

/** What main needs of the process: its standard streams and environment. */
export type MainIo = CliIo;

/** Runs fts with `args` (without the program name); resolves to the exit code. */
export async function main(args: string[], io: MainIo): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "serve":
      return await serveCommand(rest, io);
    case "connect":
      return await connectCommand(rest, io);
    case "user":
      return await userCommand(rest, io);
    case "key":
      return await keyCommand(rest, io);
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
  io[stream].writeSync(new TextEncoder().encode(text));
}

if (import.meta.main) {
  const io: MainIo = {
    stdin: Deno.stdin,
    stdout: Deno.stdout,
    stderr: Deno.stderr,
    env: (name: string) => Deno.env.get(name),
  };
  Deno.exit(await main(Deno.args, io));
}
