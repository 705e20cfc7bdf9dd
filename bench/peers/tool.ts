/**
 * One abstraction for every tool the benchmark compares: a client command
 * and, for most, the server it talks to. Remote names are relative paths
 * under the server's folder on this machine (`root`), so the benchmark can
 * check what arrived byte for byte.
 *
 * @module
 */

/** Options of one transfer. */
export interface TransferOptions {
  /** Connect to this port of 127.0.0.1 instead of the server's own (the shaping proxy). */
  readonly port?: number;
  /** Turn on the tool's compression (what a user would do on a slow link). */
  readonly compress?: boolean;
  /**
   * Retries after a lost connection, for a tool that retries on its own
   * (fts `--retries`); 0 lets a cut transfer fail. Default: the tool's.
   */
  readonly retries?: number;
}

/** A client command (with its server) the benchmark can time. */
export interface Tool {
  /** Column name in the report, e.g. "sftp". */
  readonly name: string;
  /** One line for the report: version, cipher, mode. */
  readonly description: string;
  /** The server's folder on this machine that remote names are relative to. */
  readonly root: string;
  /** The server's TCP port; undefined for a tool without a server. */
  readonly port: number | undefined;
  /** Roots of the server's process trees, for its CPU time and memory. */
  readonly serverPids: readonly number[];
  /** Whether it works through the shaping proxy (one TCP port, no side connections). */
  readonly proxyable: boolean;
  /** Uploads the file `local` as `remote`. */
  putFile(
    local: string,
    remote: string,
    options?: TransferOptions,
  ): Promise<void>;
  /** Downloads `remote` into the new file `local`. */
  getFile(
    remote: string,
    local: string,
    options?: TransferOptions,
  ): Promise<void>;
  /** Uploads the folder `local` with everything in it as the new folder `remote`. */
  putTree(local: string, remote: string): Promise<void>;
  /** Downloads the folder `remote` with everything in it as the new folder `local`. */
  getTree(remote: string, local: string): Promise<void>;
  /**
   * Downloads `remote` once into each of `locals`, all at once as separate
   * clients (connections).
   */
  fetchMany(remote: string, locals: readonly string[]): Promise<void>;
}

/** The tools one kind of server offers, and how to stop that server. */
export interface Peer extends AsyncDisposable {
  readonly tools: readonly Tool[];
}

/** How to start one kind of peer. */
export interface PeerKind {
  /** Names of the tools it offers, for `--tools` and skip notes. */
  readonly toolNames: readonly string[];
  /** Why it cannot run here (a program missing), or undefined when it can. */
  missing(): string | undefined;
  /** Starts its server(s) with folders under `dir` (created, empty). */
  start(dir: string): Promise<Peer>;
}

/** Runs `getFile` once per local path, all at once: separate client processes. */
export async function fetchManyByProcesses(
  tool: Pick<Tool, "getFile">,
  remote: string,
  locals: readonly string[],
): Promise<void> {
  await Promise.all(locals.map((local) => tool.getFile(remote, local)));
}
