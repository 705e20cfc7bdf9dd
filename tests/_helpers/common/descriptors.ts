/**
 * Counting a process's open file descriptors and memory (Linux `/proc`),
 * for tests that prove the server releases what a client made it hold.
 *
 * @module
 */

/** Open descriptors of process `pid` (default: this process). */
export function openDescriptors(pid: number | "self" = "self"): number {
  let count = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  return count;
}

/** Resident memory of process `pid` in bytes (VmRSS). */
export function residentBytes(pid: number | "self" = "self"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`No VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

const POLL_MS = 20;

/**
 * Resolves once `check()` is true, checking every 20 ms; rejects after
 * `timeoutMs`. Only for what the system does with no event to wait on,
 * such as releasing a descriptor after a socket's peer has gone.
 */
export async function waitUntil(
  check: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) {
      throw new Error(`Condition not met within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
