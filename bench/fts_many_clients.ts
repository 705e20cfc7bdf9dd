/**
 * Many fts clients in one process, each with its own TLS connection,
 * downloading the same file at once:
 *
 *   deno run -A bench/fts_many_clients.ts PORT REMOTE LOCAL…
 *
 * One client per LOCAL path (a new file, whose folder exists). Exits
 * non-zero when any download fails.
 *
 * @module
 */

import { basename, dirname } from "node:path";
import { openSession } from "../client/engine/session.ts";
import { connectTls } from "./fts_engine_connect.ts";

const [port, remote, ...locals] = Deno.args;
if (port === undefined || remote === undefined || locals.length === 0) {
  throw new TypeError("Usage: fts_many_clients.ts PORT REMOTE LOCAL…");
}
await Promise.all(locals.map(async (local) => {
  await using session = await openSession(`127.0.0.1:${port}`, {
    connect: connectTls,
  });
  await session.get(remote, dirname(local), {
    overwrite: false,
    localName: basename(local),
  });
}));
