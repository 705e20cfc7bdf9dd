/**
 * A real server over a temporary root, a session to it and a temporary
 * local folder, with a runner for shell command lines, for tests of what
 * the shell's commands do and say.
 *
 * @module
 */

import { dirname } from "node:path";
import { splitWords } from "../../../client/shell/command_parse.ts";
import {
  type CommandOutput,
  runWords,
  type ShellState,
} from "../../../client/shell/commands.ts";
import { openSession } from "../../../client/engine/session.ts";
import { type ServerOptions, startServer } from "../../../server/server.ts";
import { Buffer } from "./cli_io.ts";
import { freshShellState } from "./shell_state.ts";

/** What {@linkcode withShellWorld} hands to its callback. */
export interface ShellWorld {
  /** The server's data folder. */
  root: string;
  /** Where the server listens. */
  addr: { hostname: string; port: number };
  /** The client's local folder. */
  local: string;
  state: ShellState;
  output: CommandOutput;
  out: Buffer;
  err: Buffer;
  /**
   * Runs one command line: "ok", or "failed: MESSAGE" / "usage: MESSAGE".
   */
  run(line: string): Promise<string>;
}

/** Options of {@linkcode withShellWorld}. */
export interface ShellWorldOptions {
  /** Files to create under the root, by path ("d/" creates a folder). */
  remote?: Record<string, string>;
  /** Files to create in the local folder, by path ("d/" creates a folder). */
  local?: Record<string, string>;
  /** More options of the server (its quota, its log). */
  server?: Omit<ServerOptions, "root" | "host" | "port">;
}

/** Runs `run` in a fresh world; everything is closed and removed afterwards. */
export async function withShellWorld(
  options: ShellWorldOptions,
  run: (world: ShellWorld) => Promise<void>,
): Promise<void> {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const local = await Deno.realPath(await Deno.makeTempDir());
  try {
    await fill(root, options.remote ?? {});
    await fill(local, options.local ?? {});
    await using server = await startServer({
      ...options.server,
      root,
      host: "127.0.0.1",
      port: 0,
    });
    await using session = await openSession(`127.0.0.1:${server.addr.port}`);
    const out = new Buffer();
    const err = new Buffer();
    const output: CommandOutput = {
      out,
      err,
      progress: false,
      quiet: false,
      columns: 80,
      clock: { now: () => 0 },
    };
    const state = freshShellState(session, local);
    await run({
      root,
      addr: server.addr,
      local,
      state,
      output,
      out,
      err,
      async run(line) {
        const result = await runWords(splitWords(line), { state, output });
        return result.status === "ok" || result.status === "exit"
          ? result.status
          : `${result.status}: ${result.message}`;
      },
    });
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(local, { recursive: true });
  }
}

async function fill(dir: string, files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    if (path.endsWith("/")) {
      await Deno.mkdir(`${dir}/${path}`, { recursive: true });
    } else {
      await Deno.mkdir(dirname(`${dir}/${path}`), { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, text);
    }
  }
}
