/**
 * `deno task install [--root DIR]`: makes the `fts` command. It checks that
 * every module `main.ts` needs is in Deno's cache (fetching what is missing
 * when online; nothing when it is all there, so it works offline), then
 * writes `DIR/bin/fts`, a small shell script that runs this checkout's
 * `main.ts` with the Deno that ran the install. DIR is `--root`, else
 * `$DENO_INSTALL_ROOT`, else `~/.deno`, where `deno install` puts commands.
 *
 * Not `deno install --global`: it resolves npm packages afresh into a
 * folder of its own and needs the registry even when the lockfile's
 * packages are all cached.
 *
 * @module
 */

import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/**
 * The permissions `fts` runs with, as `deno task fts`: all, because the
 * server opens its folders through /proc/self/fd (server/storage/local/rooted_paths.ts).
 */
export const PERMISSIONS = ["--allow-all"];

const USAGE = `Usage: deno task install [--root DIR]

Installs the fts command as DIR/bin/fts (default DIR: $DENO_INSTALL_ROOT,
else ~/.deno). It runs this checkout's main.ts with this Deno, so run the
install again after moving the checkout or Deno.
`;

/** Where the checkout is: the folder of this file. */
const CHECKOUT = dirname(fileURLToPath(import.meta.url));

/** Runs the installer with `args`; resolves to the exit status. */
export async function install(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        root: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    console.error(`install: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const root = values.root ?? Deno.env.get("DENO_INSTALL_ROOT") ??
    join(Deno.env.get("HOME") ?? "", ".deno");
  if (root === ".deno") {
    console.error("install: set HOME, DENO_INSTALL_ROOT or --root");
    return 2;
  }
  const config = join(CHECKOUT, "deno.json");
  const main = join(CHECKOUT, "main.ts");
  const cached = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--quiet", "--config", config, "--entrypoint", main],
    cwd: CHECKOUT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!cached.success) {
    console.error(
      "install: cannot cache the modules fts needs (see above); run it once online",
    );
    return 1;
  }
  const bin = join(resolve(root), "bin");
  const target = join(bin, "fts");
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(target, shim(Deno.execPath(), config, main), {
    mode: 0o755,
  });
  await Deno.chmod(target, 0o755);
  console.log(`Installed ${target}`);
  const path = (Deno.env.get("PATH") ?? "").split(delimiter);
  if (!path.includes(bin)) {
    console.log(
      `${bin} is not on your PATH; add it (e.g. in ~/.profile):\n  export PATH="${bin}:$PATH"`,
    );
  }
  return 0;
}

/** The `fts` script: `exec DENO run PERMISSIONS --config CONFIG MAIN "$@"`. */
export function shim(deno: string, config: string, main: string): string {
  const words = [deno, "run", ...PERMISSIONS, "--config", config, main];
  return `#!/bin/sh
# fts, written by "deno task install" from ${CHECKOUT.replace(/[^ -~]/g, "?")}
exec ${words.map(shellQuote).join(" ")} "$@"
`;
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}

if (import.meta.main) Deno.exit(await install(Deno.args));
