/**
 * The shell state a fresh `fts connect` session starts with, for tests that
 * drive shell commands directly.
 *
 * @module
 */

import type { ShellState } from "../../../client/shell/commands.ts";
import type { ClientSession } from "../../../client/engine/session.ts";

/** A shell state at the remote top with no listing seen yet. */
export function freshShellState(
  session: ClientSession,
  localDir: string,
): ShellState {
  return {
    session,
    localDir,
    remoteDir: "",
    remoteListing: null,
    localListing: null,
  };
}
