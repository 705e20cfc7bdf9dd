/**
 * Helpers for the security tests: temporary folders, users written with a
 * cheap scrypt cost, TLS identities made once per file, and `fts` run as a
 * subprocess (`deno run -A main.ts …`) with its output read line by line.
 *
 * @module
 */

import { join } from "node:path";
import { type Accounts, loadAccounts } from "../../server/accounts.ts";
import { ScryptHasher } from "../../server/password_hash.ts";
import type { Permission } from "../../server/permissions.ts";
import {
  loadOrCreateIdentity,
  type TlsIdentity,
} from "../../server/tls_identity.ts";

/** The program under test. */
export const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A temporary folder, removed on dispose. */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

/** Makes a temporary folder (its real path); `await using` removes it. */
export async function tempDir(prefix = "fts_security_"): Promise<TempDir> {
  const path = await Deno.realPath(await Deno.makeTempDir({ prefix }));
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** A user to create: the password and the permissions. */
export interface TestUser {
  readonly password: string;
  readonly perms: readonly Permission[];
}

/**
 * Writes `users` to the user store in `stateDir`, hashed at a low scrypt
 * cost so that tests stay quick (the file format is the real one).
 */
export async function addUsers(
  stateDir: string,
  users: Record<string, TestUser>,
): Promise<Accounts> {
  const accounts = await loadAccounts(stateDir, {
    hasher: new ScryptHasher({ params: { logN: 10, r: 8, p: 1 } }),
  });
  for (const [name, user] of Object.entries(users)) {
    await accounts.add(name, user.password, user.perms);
  }
  return accounts;
}

const identities = new Map<string, Promise<TlsIdentity>>();

/**
 * A generated server identity, made once per name and test file: "a" and
 * "b" are two different keys.
 */
export function testIdentity(name = "a"): Promise<TlsIdentity> {
  let made = identities.get(name);
  if (!made) {
    made = (async () => {
      const dir = await Deno.makeTempDir({ prefix: "fts_identity_" });
      try {
        return await loadOrCreateIdentity(join(dir, name));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    })();
    identities.set(name, made);
  }
  return made;
}

/** Options of {@linkcode runFts} and {@linkcode FtsProcess}. */
export interface RunOptions {
  /** Environment added to the parent's (always NO_COLOR=1). */
  env?: Record<string, string>;
  /** Standard input; default none (not a terminal). */
  stdin?: string;
  cwd?: string;
}

/** The outcome of a finished `fts` run. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `fts ARGS…` to its end. */
export async function runFts(
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const child = spawn(args, options);
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

function spawn(args: string[], options: RunOptions): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
}

/**
 * A long-running `fts` (usually `serve`): standard output is collected line
 * by line; dispose kills it if it is still running.
 */
export class FtsProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly #stderr: Promise<string>;
  readonly #stdoutDone: Promise<void>;
  #waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  #ended = false;

  constructor(args: string[], options: Omit<RunOptions, "stdin"> = {}) {
    this.child = spawn(args, options);
    this.#stderr = new Response(this.child.stderr).text();
    this.#stdoutDone = this.#collect();
  }

  /**
   * Resolves with the first stdout line matching `pattern`; rejects if the
   * process ends first.
   */
  line(pattern: RegExp): Promise<string> {
    const seen = this.lines.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.#ended) {
      return Promise.reject(
        new Error(`fts ended without a line matching ${pattern}`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ pattern, resolve });
      void this.#stdoutDone.then(() =>
        reject(new Error(`fts ended without a line matching ${pattern}`))
      );
    });
  }

  /** For `fts serve`: the port of its first line, `listening on 127.0.0.1:PORT`. */
  async port(): Promise<number> {
    const line = await this.line(/./);
    const match = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line);
    if (!match) throw new Error(`first line was ${JSON.stringify(line)}`);
    return Number(match[1]);
  }

  /** Waits for the process to end. */
  async exit(): Promise<RunResult> {
    const status = await this.child.status;
    await this.#stdoutDone;
    return {
      code: status.code,
      stdout: this.lines.map((l) => `${l}\n`).join(""),
      stderr: await this.#stderr,
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.exit();
  }

  async #collect(): Promise<void> {
    let buffered = "";
    for await (
      const text of this.child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buffered += text;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        this.lines.push(line);
        for (const w of [...this.#waiters]) {
          if (w.pattern.test(line)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    }
    this.#ended = true;
  }
}
