/**
 * CPU time and memory of processes from /proc (Linux): a server's whole
 * process tree (nginx workers, sshd's per-connection children), and the
 * client commands this process started and reaped.
 *
 * @module
 */

/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** The fields of /proc/PID/stat the benchmark uses. */
export interface ProcStat {
  readonly ppid: number;
  /** utime + stime: this process's own CPU seconds. */
  readonly cpu: number;
  /** cutime + cstime: CPU seconds of its children it has waited for. */
  readonly childrenCpu: number;
}

/** Parses the text of /proc/PID/stat. Throws a SyntaxError on other text. */
export function parseStat(text: string): ProcStat {
  // The command name may hold spaces and parentheses; it ends at the last ")".
  const close = text.lastIndexOf(")");
  const fields = text.slice(close + 2).trim().split(" ");
  if (close < 0 || fields.length < 15) {
    throw new SyntaxError("Not the text of /proc/PID/stat");
  }
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime 14..17.
  const n = (field: number) => Number(fields[field - 3]);
  return {
    ppid: n(4),
    cpu: (n(14) + n(15)) / TICKS,
    childrenCpu: (n(16) + n(17)) / TICKS,
  };
}

/** /proc/PID/stat of `pid`, or undefined when it is gone. */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
  return parseStat(text);
}

/** `root` and every live descendant of it. */
export function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isSafeInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat === undefined) continue;
    const list = parents.get(stat.ppid) ?? [];
    list.push(pid);
    parents.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    tree.push(pid);
    stack.push(...(parents.get(pid) ?? []));
  }
  return tree;
}

/**
 * CPU seconds the tree under `root` used so far: each live process's own
 * time plus what it collected from children that ended. A process that
 * ends moves its time into its parent's collected time, so the sum stays
 * comparable across the snapshot before and after a transfer.
 */
export function treeCpuSeconds(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) {
    const stat = readStat(pid);
    if (stat) sum += stat.cpu + stat.childrenCpu;
  }
  return sum;
}

/** CPU seconds of the commands this process started and has waited for. */
export function reapedChildrenCpuSeconds(): number {
  return readStat(Deno.pid)?.childrenCpu ?? NaN;
}

/** Resident memory (VmRSS) of `pid` in bytes, 0 when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1] ?? 0) * 1024;
  } catch (error) {
    if (isGone(error)) return 0;
    throw error;
  }
}

/**
 * Samples the summed resident memory of the trees under `roots` every
 * `everyMs` until stopped; `stop()` returns the highest sum seen (bytes).
 */
export function sampleTreeRss(
  roots: readonly number[],
  everyMs = 100,
): { stop(): number } {
  let peak = 0;
  const sample = () => {
    let sum = 0;
    for (const root of roots) {
      for (const pid of processTree(root)) sum += rssBytes(pid);
    }
    peak = Math.max(peak, sum);
  };
  sample();
  // An error in a timer would end the process before anything is cleaned
  // up (servers, the tmpfs): keep it for stop(), which runs in the caller's flow.
  let failure: { error: unknown } | undefined;
  const timer = setInterval(() => {
    try {
      sample();
    } catch (error) {
      failure ??= { error };
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      if (failure) throw failure.error;
      sample();
      return peak;
    },
  };
}

/**
 * Whether reading a /proc file failed because the process ended: the file
 * is gone (ENOENT), or the process is being reaped and the kernel answers
 * ESRCH, which Deno reports as an error of no dedicated class and no code.
 * /proc/PID files of live processes are always readable to their owner
 * and root, so any error there means the process ended.
 */
function isGone(error: unknown): boolean {
  return error instanceof Error;
}
