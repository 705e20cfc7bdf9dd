/**
 * Where the client keeps its own files (known_hosts, keys): the XDG config
 * folder.
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { FtsError } from "../protocol/errors.ts";

/** Reads an environment variable; `Deno.env.get` or a test's map. */
export type EnvReader = (name: string) => string | undefined;

/** Options of {@linkcode configDir}. */
export interface ConfigDirOptions {
  /** Environment to read. Default: `Deno.env.get`. */
  env?: EnvReader;
}

/**
 * The client's config folder: `$FTS_CONFIG_DIR` when set, else
 * `$XDG_CONFIG_HOME/fts` when that is an absolute path (as the XDG spec
 * asks), else `$HOME/.config/fts`, else `%USERPROFILE%\.config\fts` (Windows
 * sets no `HOME`).
 *
 * @throws {FtsError} code `bad_request` when none of `FTS_CONFIG_DIR`,
 * `XDG_CONFIG_HOME`, `HOME` and `USERPROFILE` gives a folder.
 * @example
 * ```ts
 * configDir({ env: (name) => ({ HOME: "/home/ana" })[name] });
 * // "/home/ana/.config/fts"
 * ```
 */
export function configDir(options: ConfigDirOptions = {}): string {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const own = env("FTS_CONFIG_DIR");
  if (own) return own;
  const xdg = env("XDG_CONFIG_HOME");
  if (xdg && isAbsolute(xdg)) return join(xdg, "fts");
  const home = env("HOME") || env("USERPROFILE");
  if (home) return join(home, ".config", "fts");
  throw new FtsError(
    "bad_request",
    "Cannot find the config folder: set HOME, XDG_CONFIG_HOME or FTS_CONFIG_DIR",
  );
}
