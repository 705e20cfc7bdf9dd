/**
 * The terminal streams and environment a command runs with, shared by
 * `fts serve`, `fts connect`, `fts user` and `fts key`. `Deno.stdin`,
 * `Deno.stdout` and `Deno.stderr` satisfy it; tests pass fakes.
 *
 * @module
 */

/** Streams, environment and cancellation of one command. */
export interface CliIo {
  stdin: {
    readable: ReadableStream<Uint8Array>;
    isTerminal(): boolean;
    /** Turns echo and line editing off (`true`) or back on; terminals only. */
    setRaw?(mode: boolean): void;
  };
  stdout: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  stderr: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  /** Reads an environment variable (`Deno.env.get`, or a test's map). */
  env: (name: string) => string | undefined;
  /** Stops the command as SIGTERM would. */
  signal?: AbortSignal;
}

const encoder = new TextEncoder();

/**
 * Writes all of `text` to `out` (`writeSync` may write less than asked).
 *
 * @example
 * ```ts
 * writeText(Deno.stderr, "fts: Cannot connect\n");
 * ```
 */
export function writeText(
  out: { writeSync(p: Uint8Array): number },
  text: string,
): void {
  const bytes = encoder.encode(text);
  let n = 0;
  while (n < bytes.byteLength) n += out.writeSync(bytes.subarray(n));
}
