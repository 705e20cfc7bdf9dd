/**
 * The usual end-to-end world: a real server started in-process on
 * 127.0.0.1 (port 0) over a temporary data folder, and a second temporary
 * folder for the client's local files.
 *
 * @module
 */

import {
  type FtsServer,
  type ServerOptions,
  startServer,
} from "../../../server/server.ts";

/** What {@linkcode withServedFolders} hands to its callback. */
export interface ServedFolders {
  /** The server's data folder (its real path). */
  root: string;
  /** The client's local folder (its real path). */
  local: string;
  server: FtsServer;
  port: number;
}

/**
 * Runs `run` with a server over a fresh root and a fresh local folder; the
 * server is disposed and both folders removed afterwards. `options` go to
 * {@linkcode startServer} beside the root and address.
 */
export async function withServedFolders(
  run: (folders: ServedFolders) => Promise<void>,
  options: Omit<ServerOptions, "root" | "host" | "port"> = {},
): Promise<void> {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const local = await Deno.realPath(await Deno.makeTempDir());
  try {
    await using server = await startServer({
      ...options,
      root,
      host: "127.0.0.1",
      port: 0,
    });
    await run({ root, local, server, port: server.addr.port });
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(local, { recursive: true });
  }
}
