/**
 * Runs `fts serve` from main.ts as a subprocess for the benchmarks, reads the
 * port from its first line, and reports its peak memory and CPU time from
 * /proc (Linux).
 *
 * @module
 */

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** A running server subprocess; disposing it stops it with SIGTERM. */
export interface ServerProcess extends AsyncDisposable {
  readonly port: number;
  readonly pid: number;
  /** The fingerprint the server printed ("SHA256:…"); undefined with --no-tls. */
  readonly fingerprint: string | undefined;
  /** The server's peak resident memory (VmHWM) in MiB. */
  peakRssMiB(): Promise<number>;
  /** CPU seconds (user + system, all threads) the server used so far. */
  cpuSeconds(): number;
}

/**
 * CPU seconds (user + system, all threads, ended ones included) process
 * `pid` used so far, from /proc; NaN where there is no /proc.
 */
export function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name, which ends with the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15, in clock ticks (100 per second).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Starts `fts serve --port 0 --root ROOT --quiet` plus `extraArgs`. */
export async function startServerProcess(
  root: string,
  extraArgs: string[] = [],
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "serve",
      "--port",
      "0",
      "--root",
      root,
      "--quiet",
      ...extraArgs,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let match: RegExpMatchArray | null = null;
  while (!(match = text.match(/listening on .*:(\d+)\n/))) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`The server exited before listening: ${text}`);
    text += value;
  }
  const tls = !extraArgs.includes("--no-tls");
  let fingerprint: RegExpMatchArray | null = null;
  while (tls && !(fingerprint = text.match(/fingerprint (SHA256:\S+)\n/))) {
    const { value, done } = await lines.read();
    if (done) {
      throw new Error(`The server exited before its fingerprint: ${text}`);
    }
    text += value;
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })();
  return {
    port: Number(match[1]),
    pid: child.pid,
    fingerprint: fingerprint?.[1],
    async peakRssMiB() {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const kib = Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1] ?? NaN);
      return Math.round(kib / 1024);
    },
    cpuSeconds: () => cpuSeconds(child.pid),
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}
