/**
 * The one usage error of fts: a command line (of `fts serve`, `fts user`,
 * `fts connect`, `fts key`, `fts known-hosts`, or a shell command) that
 * cannot run as given. Every command exits with {@linkcode USAGE_STATUS}
 * for it, after one line on standard error.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** The exit status of a usage error, in every fts command. */
export const USAGE_STATUS = 2;

/**
 * A command line that cannot run as given. The message is the one line to
 * show; the command adds where to find its help.
 *
 * @example
 * ```ts
 * throw new UsageError("--cert and --key go together");
 * ```
 */
export class UsageError extends SyntaxError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/**
 * `node:util`'s `parseArgs`, with its errors (told apart by their
 * `ERR_PARSE_ARGS_…` code) as a {@linkcode UsageError} whose message is the
 * first sentence of node's first line, e.g. `Unknown option '--frob'`. node's
 * messages name only the option, never a value.
 *
 * @throws {UsageError} for an unknown option, a missing value, a stray
 * argument.
 * @example
 * ```ts
 * const { values } = parseCommandLine({ args, options: { help: { type: "boolean" } } });
 * ```
 */
export function parseCommandLine<T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      const line = (error as Error).message.split("\n", 1)[0]!;
      throw new UsageError(line.split(". ", 1)[0]!, { cause: error });
    }
    throw error;
  }
}
