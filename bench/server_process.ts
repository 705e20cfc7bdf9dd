/**
 * Runs `fts serve` from main.ts as a subprocess for the benchmarks, reads the
 * port from its first line, and reports its peak memory from /proc.
 *
 * @module
 */

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** A running server subprocess; disposing it stops it with SIGTERM. */
export interface ServerProcess extends AsyncDisposable {
  readonly port: number;
  /** The server's peak resident memory (VmHWM) in MiB. */
  peakRssMiB(): Promise<number>;
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
  // Keep draining stdout so the server never blocks on a full pipe.
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })();
  return {
    port: Number(match[1]),
    async peakRssMiB() {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const kib = Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1] ?? NaN);
      return Math.round(kib / 1024);
    },
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}
