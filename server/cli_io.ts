/**
 * The terminal streams a command runs with. `Deno.stdin`, `Deno.stdout` and
 * `Deno.stderr` satisfy it; tests pass fakes. Structurally the same as the
 * `CliIo` of `server/cli.ts` and `client/cli.ts`.
 *
 * @module
 */

/** Streams, environment and cancellation of one command. */
export interface CliIo {
  stdin: {
    readable: ReadableStream<Uint8Array>;
    isTerminal(): boolean;
    setRaw?(mode: boolean): void;
  };
  stdout: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  stderr: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  env: (name: string) => string | undefined;
  signal?: AbortSignal;
}

const encoder = new TextEncoder();

/** Writes all of `text` to `out` (writeSync may write less than asked). */
export function writeText(
  out: { writeSync(p: Uint8Array): number },
  text: string,
): void {
  const bytes = encoder.encode(text);
  let n = 0;
  while (n < bytes.byteLength) n += out.writeSync(bytes.subarray(n));
}
