/**
 * The benchmark's scratch folder: a private tmpfs mounted for the run when
 * this process is root (so no disk decides the figures and nothing else
 * writes there), else a temp folder, and the report says which.
 *
 * @module
 */

import { run } from "./command.ts";

/** A scratch folder; disposing it removes everything (and unmounts). */
export interface Scratch extends AsyncDisposable {
  readonly dir: string;
  /** One sentence for the report: where the files lived. */
  readonly description: string;
}

/** Makes the scratch folder, a tmpfs of at most `sizeGiB` when root. */
export async function makeScratch(sizeGiB: number): Promise<Scratch> {
  const dir = await Deno.makeTempDir({ prefix: "fts-bench-" });
  if (Deno.uid() === 0) {
    try {
      await run("mount", [
        "-t",
        "tmpfs",
        "-o",
        `size=${sizeGiB}g,mode=0755`,
        "fts-bench",
        dir,
      ]);
      return {
        dir,
        description:
          `a private tmpfs (${sizeGiB} GiB at most) mounted for the run`,
        async [Symbol.asyncDispose]() {
          await run("umount", [dir]);
          await Deno.remove(dir);
        },
      };
    } catch (error) {
      console.error(`Cannot mount a tmpfs (${error}); using a temp folder`);
    }
  }
  return {
    dir,
    description: `a temp folder on ${
      fileSystemOf(dir)
    } (not root: no private tmpfs)`,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The file system type of the mount holding `path`, from /proc/mounts. */
function fileSystemOf(path: string): string {
  try {
    let best = { point: "", type: "an unknown file system" };
    for (const line of Deno.readTextFileSync("/proc/mounts").split("\n")) {
      const [, point, type] = line.split(" ");
      if (point === undefined || type === undefined) continue;
      const inside = path === point ||
        path.startsWith(point.endsWith("/") ? point : `${point}/`);
      if (inside && point.length >= best.point.length) best = { point, type };
    }
    return best.type;
  } catch {
    return "an unknown file system";
  }
}
