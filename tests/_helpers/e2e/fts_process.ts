/**
 * `fts` run as a subprocess (`deno run -A main.ts …`): to its end with
 * {@linkcode runFts}, or long-running (usually `serve`) with
 * {@linkcode FtsProcess}, its output read line by line.
 *
 * @module
 */

/** The program under test; FTS_MAIN lets a work-in-progress tree point elsewhere. */
export const MAIN = Deno.env.get("FTS_MAIN") ??
  new URL("../../../main.ts", import.meta.url).pathname;

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
  const child = spawnFts(args, options);
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** Starts `fts ARGS…` with piped stdout and stderr; the caller reads them. */
export function spawnFts(
  args: string[],
  options: RunOptions = {},
): Deno.ChildProcess {
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
    this.child = spawnFts(args, options);
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
