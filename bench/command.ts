/**
 * Running the commands and daemons the benchmark drives: one-shot commands
 * that must succeed, long-running servers on free ports of 127.0.0.1.
 *
 * @module
 */

/** Thrown when a command the benchmark runs fails. */
export class CommandError extends Error {
  override name = "CommandError";
}

/** Options of {@linkcode run}. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Text written to the command's standard input (default: none). */
  stdin?: string;
}

/**
 * Runs `command` with `args` and returns its standard output; throws a
 * {@linkcode CommandError} with its standard error when it exits non-zero.
 */
export async function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const child = new Deno.Command(command, {
    args: [...args],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  if (!out.success) {
    const err = decoder.decode(out.stderr).trim().split("\n").slice(-3);
    throw new CommandError(
      `"${command} ${args.join(" ")}" exited with ${out.code}: ${
        err.join(" | ")
      }`,
    );
  }
  return decoder.decode(out.stdout);
}

/** The full path of `command` on PATH (or /usr/sbin, /sbin), or undefined. */
export function which(command: string): string | undefined {
  const dirs = [
    ...(Deno.env.get("PATH") ?? "").split(":"),
    "/usr/sbin",
    "/sbin",
  ];
  for (const dir of dirs) {
    if (dir === "") continue;
    try {
      const path = `${dir}/${command}`;
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return path;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (free when asked; a daemon takes it next). */
export function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return (listener.addr as Deno.NetAddr).port;
}

/** Options of {@linkcode startDaemon}. */
export interface DaemonOptions {
  /** How long to wait for the port (default 10 s). */
  readonly readyMs?: number;
  /**
   * Wait for this on standard output instead of connecting to the port:
   * for a daemon that takes a probe connection for a client (iperf3).
   */
  readonly readyLine?: RegExp;
}

/** A daemon started by {@linkcode startDaemon}. */
export interface Daemon extends AsyncDisposable {
  readonly pid: number;
  readonly port: number;
}

/**
 * Starts `command` (which must listen on 127.0.0.1:`port` and stay in the
 * foreground), waits until the port accepts a connection (at most
 * `readyMs`) or it prints `readyLine`, and returns it; disposing it stops
 * it with SIGTERM.
 */
export async function startDaemon(
  name: string,
  command: string,
  args: readonly string[],
  port: number,
  options: DaemonOptions = {},
): Promise<Daemon> {
  const readyMs = options.readyMs ?? 10_000;
  const child = new Deno.Command(command, {
    args: [...args],
    stdin: "null",
    stdout: options.readyLine ? "piped" : "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    await status;
    return await stderr;
  };
  if (options.readyLine) {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!options.readyLine.test(text)) {
      const { value, done } = await lines.read();
      if (done) {
        throw new CommandError(
          `${name} exited at start: ${(await stop()).trim()}`,
        );
      }
      text += value;
    }
    // Keep reading so the daemon never blocks on a full pipe.
    (async () => {
      while (!(await lines.read()).done) { /* discard */ }
    })();
    return {
      pid: child.pid,
      port,
      async [Symbol.asyncDispose]() {
        await stop();
      },
    };
  }
  const deadline = performance.now() + readyMs;
  for (let wait = 5;; wait = Math.min(wait * 2, 200)) {
    if (exited) {
      throw new CommandError(
        `${name} exited at start: ${(await stop()).trim()}`,
      );
    }
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      break;
    } catch {
      if (performance.now() > deadline) {
        const err = await stop();
        throw new CommandError(
          `${name} did not listen on port ${port}: ${err}`,
        );
      }
      // Polling a foreign daemon's port: it has no readiness signal to wait on.
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  return {
    pid: child.pid,
    port,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/**
 * The first line `command args` prints on standard output or, when that is
 * empty, standard error, whatever its exit status ("?" when it cannot run).
 */
export async function versionLine(
  command: string,
  args: readonly string[],
): Promise<string> {
  try {
    const out = await new Deno.Command(command, {
      args: [...args],
      stdin: "null",
    }).output();
    const decoder = new TextDecoder();
    const text = decoder.decode(out.stdout).trim() ||
      decoder.decode(out.stderr).trim();
    return text.split("\n")[0] ?? "?";
  } catch {
    return "?";
  }
}
