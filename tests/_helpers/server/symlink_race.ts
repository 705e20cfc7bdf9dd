/**
 * A local attacker's race against a storage backend: a helper process swaps
 * a folder inside the root with a symbolic link to a folder outside it
 * (renameat2 RENAME_EXCHANGE, in a loop) while every storage operation runs
 * on names inside that folder. The report says what escaped the root.
 *
 * Layout (all in one temporary folder):
 * - `root/d/` a real folder holding `secret.txt` and `sub/deep.txt`
 *   ("inside");
 * - `root/l` a symbolic link to `outside/`;
 * - `outside/` holding `secret.txt` and `sub/deep.txt` ("OUTSIDE") and
 *   `victim-0…` files.
 *
 * @module
 */

import { join } from "node:path";
import { FtsError } from "../../../protocol/errors.ts";
import type { Storage } from "../../../server/storage/storage.ts";
import { tempDir } from "../common/temp_dir.ts";

/** What one race found. */
export interface RaceReport {
  /** Swaps the helper made (even: the layout is back as it started). */
  swaps: number;
  /** Reads that returned the outside file's content. */
  outsideReads: number;
  /** Names under `outside/` that appeared, vanished or changed. */
  outsideChanges: string[];
  /** Operations that succeeded, by kind (to show the race really ran). */
  done: Record<string, number>;
  /** Operations tried, successful or not. */
  tried: number;
  /** Failed operations by error code. */
  failed: Record<string, number>;
  /** Errors that were not FtsErrors (a backend must throw only those). */
  unexpected: string[];
}

const VICTIMS = 200;
const SWAPPER = new URL("./symlink_swapper.ts", import.meta.url).pathname;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Runs the race for `ms` milliseconds against the storage `open` makes on a
 * root folder (which `open` may create), then closes it.
 */
export async function raceSymlinkSwap(
  open: (root: string) => Promise<Storage>,
  ms: number,
): Promise<RaceReport> {
  await using base = await tempDir("fts_race_");
  const root = join(base.path, "root");
  const outside = join(base.path, "outside");
  await Deno.mkdir(join(root, "d", "sub"), { recursive: true });
  await Deno.mkdir(join(outside, "sub"), { recursive: true });
  await Deno.writeTextFile(join(root, "d", "secret.txt"), "inside");
  await Deno.writeTextFile(join(root, "d", "sub", "deep.txt"), "inside");
  await Deno.writeTextFile(join(root, "d", "ping"), "inside");
  await Deno.writeTextFile(join(outside, "secret.txt"), "OUTSIDE");
  await Deno.writeTextFile(join(outside, "sub", "deep.txt"), "OUTSIDE");
  for (let i = 0; i < VICTIMS; i++) {
    await Deno.writeTextFile(join(outside, `victim-${i}`), "victim");
  }
  await Deno.symlink(outside, join(root, "l"));
  await using storage = await open(root);
  await storage.mkdir("mine");
  const before = await snapshot(outside);

  const report: RaceReport = {
    swaps: 0,
    outsideReads: 0,
    outsideChanges: [],
    done: {},
    tried: 0,
    failed: {},
    unexpected: [],
  };
  const swapper = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      SWAPPER,
      join(root, "d"),
      join(root, "l"),
      String(ms / 1000 + 5),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = swapper.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  const first = await lines.read();
  if (!first.value?.startsWith("ready")) {
    await swapper.stdin.close();
    await swapper.status;
    throw new Error(`the swapper did not start: ${first.value}`);
  }
  const deadline = Date.now() + ms;
  let serial = 0;
  async function attempt(kind: string, op: () => Promise<unknown>) {
    report.tried++;
    try {
      await op();
      report.done[kind] = (report.done[kind] ?? 0) + 1;
    } catch (error) {
      if (!(error instanceof FtsError)) {
        report.unexpected.push(`${kind}: ${String(error)}`);
      } else {
        const key = `${kind}:${error.code}`;
        report.failed[key] = (report.failed[key] ?? 0) + 1;
      }
    }
  }
  async function loop(ops: Record<string, () => Promise<unknown>>) {
    while (Date.now() < deadline) {
      for (const [kind, op] of Object.entries(ops)) await attempt(kind, op);
      // Mostly synchronous operations settle as microtasks: give the other
      // loops (and I/O) their turn, as requests from sockets would.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
  const readAll = async (name: string) => {
    using reader = await storage.openRead(name);
    const buf = new Uint8Array(64);
    const n = await reader.read(buf);
    if (n !== null && decoder.decode(buf.subarray(0, n)).includes("OUTSIDE")) {
      report.outsideReads++;
    }
  };
  await Promise.all([
    loop({
      read: () => readAll("d/secret.txt"),
      readDeep: () => readAll("d/sub/deep.txt"),
      stat: async () => {
        const e = await storage.stat("d/secret.txt");
        if (e.size === "OUTSIDE".length) report.outsideReads++;
      },
      list: async () => {
        for await (const page of storage.list("d")) {
          if (page.some((e) => e.name.startsWith("victim-"))) {
            report.outsideReads++;
          }
        }
      },
    }),
    loop({
      upload: async () => {
        const n = serial++;
        await using up = await storage.beginUpload(`d/new-${n}`, 3);
        await up.write(encoder.encode("new"));
        await up.commit({ overwrite: n % 2 === 0 });
      },
      overwrite: async () => {
        await using up = await storage.beginUpload("d/secret.txt", 6);
        await up.write(encoder.encode("inside"));
        await up.commit({ overwrite: true });
      },
      mkdir: () => storage.mkdir(`d/dir-${serial++}`),
      mkdirDeep: () => storage.mkdir(`d/sub/dir-${serial++}`),
    }),
    loop({
      remove: () => storage.remove(`d/victim-${serial++ % VICTIMS}`),
      removeDir: () => storage.remove("d/sub"),
      renameOut: async () => {
        await storage.rename(`d/victim-${serial++ % VICTIMS}`, "mine/got", {
          overwrite: true,
        });
      },
      renameIn: async () => {
        await storage.mkdir("mine/x").catch(() => {});
        await storage.rename("mine/x", `d/planted-${serial++}`, {
          overwrite: false,
        });
      },
      renameFile: () =>
        storage.rename("d/ping", "d/pong", { overwrite: false })
          .catch(() =>
            storage.rename("d/pong", "d/ping", { overwrite: false })
          ),
    }),
  ]);
  await swapper.stdin.close();
  for (;;) {
    const { value, done } = await lines.read();
    if (done) break;
    const n = Number.parseInt(value, 10);
    if (Number.isFinite(n)) report.swaps = n;
  }
  await swapper.status;
  const after = await snapshot(outside);
  for (const [name, sig] of before) {
    if (after.get(name) !== sig) report.outsideChanges.push(name);
  }
  for (const name of after.keys()) {
    if (!before.has(name)) report.outsideChanges.push(name);
  }
  return report;
}

/** Every name under `dir` with its type, size and content. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(path: string, prefix: string) {
    for await (const e of Deno.readDir(path)) {
      const full = join(path, e.name);
      const name = prefix + e.name;
      if (e.isDirectory) {
        out.set(name, "dir");
        await walk(full, `${name}/`);
      } else if (e.isFile) {
        out.set(name, `file:${await Deno.readTextFile(full)}`);
      } else {
        out.set(name, "other");
      }
    }
  }
  await walk(dir, "");
  return out;
}
