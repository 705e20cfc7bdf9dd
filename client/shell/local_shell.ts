/**
 * `!COMMAND` and `!` in the shell: a command, or an interactive shell, on
 * this computer, in the local folder, with the terminal handed over until
 * it ends. Like sftp's, it runs `$SHELL -c COMMAND` (`/bin/sh` when SHELL
 * is not set).
 *
 * @module
 */

/** Runs a local command line, or an interactive shell for null. */
export type LocalShellRunner = (
  command: string | null,
  options: LocalShellOptions,
) => Promise<number>;

/** Options of {@linkcode runLocalShell}. */
export interface LocalShellOptions {
  /** The folder the command runs in. */
  readonly cwd: string;
  /** Reads an environment variable (SHELL). */
  readonly env: (name: string) => string | undefined;
  /**
   * Hand the command this process's standard input (a terminal). False
   * for scripts, whose standard input may be the script itself: the
   * command reads nothing. Default true.
   */
  readonly stdin?: boolean;
}

/**
 * Runs `command` with the user's shell (or the shell itself when `command`
 * is null), its standard streams on this process's. Ctrl-C goes to the
 * command, not to fts, until it ends. Resolves to its exit status (as
 * Deno reports it: 128 + the signal number when a signal ended it).
 *
 * @throws {Deno.errors.NotFound} when the shell does not exist.
 */
export async function runLocalShell(
  command: string | null,
  options: LocalShellOptions,
): Promise<number> {
  const shell = options.env("SHELL") || "/bin/sh";
  const child = new Deno.Command(shell, {
    args: command === null ? [] : ["-c", command],
    cwd: options.cwd,
    stdin: options.stdin === false ? "null" : "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // The terminal sends Ctrl-C to both processes; only the child acts on it.
  const ignore = () => {};
  let listening = false;
  try {
    Deno.addSignalListener("SIGINT", ignore);
    listening = true;
  } catch {
    // no signals here
  }
  try {
    return (await child.status).code;
  } finally {
    if (listening) Deno.removeSignalListener("SIGINT", ignore);
  }
}
