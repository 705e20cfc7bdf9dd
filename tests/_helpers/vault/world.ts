/**
 * A real server (in-process, 127.0.0.1, port 0) and a client shell state
 * with its own config folder, for the end-to-end vault tests: commands run
 * as typed in the shell, with the environment and the terminal replaced by
 * a map and a scripted list of answers.
 *
 * @module
 */

import { join } from "node:path";
import { splitWords } from "../../../client/shell/command_parse.ts";
import {
  type CommandOutput,
  runWords,
  type ShellState,
} from "../../../client/shell/commands.ts";
import { openSession } from "../../../client/engine/session.ts";
import { generateIdentity } from "../../../client/vault/identity.ts";
import { type ServerOptions, startServer } from "../../../server/server.ts";
import { Buffer } from "../client/cli_io.ts";
import { freshShellState } from "../client/shell_state.ts";

/** Options of {@linkcode startVaultWorld}. */
export interface VaultWorldOptions {
  /** Extra environment (FTS_CONFIG_DIR is set to the world's config folder). */
  env?: Record<string, string>;
  /** Create an identity with `fts key gen`'s code first. Default true. */
  identity?: boolean;
  /** Answers the "terminal" gives, in order; null means no terminal. */
  answers?: (string | null)[];
  /** Server options (chunk size…). */
  server?: Omit<ServerOptions, "root" | "host" | "port">;
}

/** A server, a connected shell state, and folders on both sides. */
export interface VaultWorld extends AsyncDisposable {
  /** The server's data folder. */
  readonly root: string;
  /** The client's local folder. */
  readonly local: string;
  /** The client's config folder (FTS_CONFIG_DIR). */
  readonly config: string;
  readonly port: number;
  readonly state: ShellState;
  /** The environment the client sees; tests may change it. */
  readonly env: Record<string, string>;
  /** Prompts shown on the fake terminal, in order. */
  readonly prompts: string[];
  /** Runs one shell command; "ok", or "failed: MESSAGE" / "usage: MESSAGE". */
  run(line: string): Promise<string>;
  /** Everything the commands printed as results. */
  readonly out: Buffer;
}

/** Starts a {@linkcode VaultWorld}; `await using` stops it and cleans up. */
export async function startVaultWorld(
  options: VaultWorldOptions = {},
): Promise<VaultWorld> {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const local = await Deno.realPath(await Deno.makeTempDir());
  const config = await Deno.realPath(await Deno.makeTempDir());
  const env: Record<string, string> = {
    FTS_CONFIG_DIR: config,
    ...options.env,
  };
  const cleanup = async () => {
    for (const dir of [root, local, config]) {
      await Deno.remove(dir, { recursive: true });
    }
  };
  try {
    if (options.identity ?? true) {
      await generateIdentity(join(config, "identity.txt"));
    }
    const server = await startServer({
      ...options.server,
      root,
      host: "127.0.0.1",
      port: 0,
    });
    const session = await openSession({
      hostname: "127.0.0.1",
      port: server.addr.port,
    }).catch(async (error) => {
      await server.shutdown(0);
      throw error;
    });
    const prompts: string[] = [];
    const answers = [...(options.answers ?? [])];
    const state: ShellState = {
      ...freshShellState(session, local),
      vault: {
        env: (name) => env[name],
        askSecret: (prompt) => {
          prompts.push(prompt);
          const answer = answers.shift();
          if (answer === undefined) throw new Error(`Unexpected ${prompt}`);
          return Promise.resolve(answer);
        },
      },
    };
    const out = new Buffer();
    const output: CommandOutput = {
      out,
      err: new Buffer(),
      progress: false,
      quiet: false,
      columns: 80,
    };
    return {
      root,
      local,
      config,
      port: server.addr.port,
      state,
      env,
      prompts,
      out,
      async run(line) {
        const result = await runWords(splitWords(line), { state, output });
        return result.status === "ok" || result.status === "exit"
          ? result.status
          : `${result.status}: ${result.message}`;
      },
      async [Symbol.asyncDispose]() {
        await state.session.close();
        await server.shutdown(0);
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Every regular file under `dir`, including hidden ones, as paths. */
export async function allFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await allFiles(path));
    else if (entry.isFile) files.push(path);
  }
  return files.sort();
}

/** File names in `dir` (not recursive), sorted. */
export function namesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}
