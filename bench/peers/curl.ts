/**
 * curl as the client of the FTP and HTTPS peers: one file per command, or
 * many files in one command through a config file (curl keeps its
 * connection between them, as a user's script would), or many clients at
 * once with `--parallel`.
 *
 * @module
 */

import { join } from "node:path";
import { run } from "../command.ts";

/** One transfer of a curl batch. */
export type CurlItem =
  | { readonly upload: string; readonly url: string }
  | { readonly url: string; readonly output: string };

/** Options of {@linkcode curlBatch}. */
export interface CurlBatchOptions {
  /** Options before the items, e.g. ["--cacert", FILE]. */
  readonly args: readonly string[];
  /** Folder for the config file. */
  readonly dir: string;
  /** Run the items at once, each on its own connection. */
  readonly parallel?: boolean;
}

/** Runs `items` in one curl process; throws when any of them fails. */
export async function curlBatch(
  items: readonly CurlItem[],
  options: CurlBatchOptions,
): Promise<void> {
  const config = join(options.dir, `curl-${crypto.randomUUID()}.conf`);
  const lines = items.map((item) =>
    "upload" in item
      ? `upload-file = "${item.upload}"\nurl = "${item.url}"`
      : `url = "${item.url}"\noutput = "${item.output}"`
  );
  Deno.writeTextFileSync(config, lines.join("\n") + "\n");
  try {
    await run("curl", [
      "--silent",
      "--show-error",
      "--fail",
      "--create-dirs",
      ...(options.parallel
        ? [
          "--parallel",
          "--parallel-immediate",
          "--parallel-max",
          String(Math.min(items.length, 300)),
        ]
        : []),
      ...options.args,
      "--config",
      config,
    ]);
  } finally {
    Deno.removeSync(config);
  }
}

/** The installed version of a Debian package, or "?". */
export async function packageVersion(name: string): Promise<string> {
  try {
    return (await run("dpkg-query", ["-W", "-f=${Version}", name])).trim();
  } catch {
    return "?";
  }
}

/** "curl 7.88.1". */
export async function curlVersion(): Promise<string> {
  const out = await run("curl", ["--version"]);
  return out.split(" ").slice(0, 2).join(" ");
}
