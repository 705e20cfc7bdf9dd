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
      const release = unmountOnSignal(dir);
      return {
        dir,
        description:
          `a private tmpfs (${sizeGiB} GiB at most) mounted for the run`,
        async [Symbol.asyncDispose]() {
          release();
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

/**
 * Until the returned function is called, SIGINT or SIGTERM unmounts `dir`
 * (lazily, as the peers that still hold files in it are ending too: Ctrl-C
 * reaches the whole process group), removes it and ends the process with
 * status 130, so an interrupted run leaves no tmpfs behind.
 */
function unmountOnSignal(dir: string): () => void {
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const onSignal = () => {
    new Deno.Command("umount", { args: ["-l", dir], stderr: "null" })
      .outputSync();
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Still busy or already gone: the mount is detached either way.
    }
    console.error("fts bench: interrupted; the scratch tmpfs is unmounted");
    Deno.exit(130);
  };
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  return () => {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
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
