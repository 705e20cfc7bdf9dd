/**
 * fts itself as a benchmark peer: `fts serve` with TLS (its default) and
 * the `fts connect … COMMAND` client, one process per transfer as a user
 * runs it. The client runs from a bundle of main.ts (one file, as
 * `deno task bundle` builds it) when bundling works, else from main.ts.
 *
 * @module
 */

import { join } from "node:path";
import { run } from "../command.ts";
import { startServerProcess } from "../server_process.ts";
import {
  type Peer,
  type PeerKind,
  type Tool,
  type TransferOptions,
} from "./tool.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const MANY = new URL("../fts_many_clients.ts", import.meta.url).pathname;

export const ftsPeer: PeerKind = {
  toolNames: ["fts"],
  missing: () => undefined,
  async start(dir: string): Promise<Peer> {
    const root = join(dir, "root");
    const config = join(dir, "config");
    Deno.mkdirSync(root);
    Deno.mkdirSync(config);
    const bundle = join(dir, "fts.js");
    let entry = bundle;
    try {
      await run(Deno.execPath(), [
        "bundle",
        "--quiet",
        "--platform",
        "deno",
        "-o",
        bundle,
        MAIN,
      ]);
    } catch {
      entry = MAIN;
    }
    const server = await startServerProcess(root, [
      "--max-clients",
      "256",
      "--max-per-address",
      "256",
    ]);
    const fingerprint = server.fingerprint!;
    const client = (port: number, args: string[], extra: string[] = []) =>
      run(Deno.execPath(), [
        "run",
        "-A",
        "--no-config",
        entry,
        "connect",
        `127.0.0.1:${port}`,
        "--fingerprint",
        fingerprint,
        "--quiet",
        ...extra,
        ...args,
      ], { env: { FTS_CONFIG_DIR: config } });
    const extra = (options: TransferOptions | undefined) => [
      ...(options?.compress ? ["--compress", "auto"] : []),
      ...(options?.retries === undefined
        ? []
        : ["--retries", String(options.retries)]),
    ];
    const tool: Tool = {
      name: "fts",
      description: `fts ${await version(entry)} (TLS 1.3, pinned key; client ${
        entry === MAIN ? "main.ts" : "bundled"
      } on Deno ${Deno.version.deno})`,
      root,
      port: server.port,
      serverPids: [server.pid],
      proxyable: true,
      async putFile(local: string, remote: string, options?: TransferOptions) {
        await client(
          options?.port ?? server.port,
          ["put", local, remote],
          extra(options),
        );
      },
      async getFile(remote: string, local: string, options?: TransferOptions) {
        await client(
          options?.port ?? server.port,
          ["get", remote, local],
          extra(options),
        );
      },
      async putTree(local: string, remote: string) {
        await client(server.port, ["put", "-r", local, remote]);
      },
      async getTree(remote: string, local: string) {
        await client(server.port, ["get", "-r", remote, local]);
      },
      async fetchMany(remote: string, locals: readonly string[]) {
        // One process holding every client, as curl --parallel does for the
        // web and FTP peers: N processes would measure Deno's start-up.
        await run(Deno.execPath(), [
          "run",
          "-A",
          MANY,
          String(server.port),
          remote,
          ...locals,
        ]);
      },
    };
    return {
      tools: [tool],
      async [Symbol.asyncDispose]() {
        await server[Symbol.asyncDispose]();
      },
    };
  },
};

async function version(entry: string): Promise<string> {
  const out = await run(Deno.execPath(), [
    "run",
    "-A",
    "--no-config",
    entry,
    "--version",
  ]);
  return out.trim().replace(/^fts /, "");
}
