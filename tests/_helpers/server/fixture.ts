/**
 * An in-process server on 127.0.0.1, port 0, over a temporary data folder
 * (or the storage a test gives it, such as a MemoryStorage), for server
 * tests.
 *
 * @module
 */

import { join } from "node:path";
import {
  type FtsServer,
  type ServerOptions,
  startServer,
} from "../../../server/server.ts";
import type { Storage } from "../../../server/storage/storage.ts";
import { RawClient, type RawConnectOptions } from "./raw_client.ts";

/** A running test server and its data folder. */
export interface TestServer extends AsyncDisposable {
  readonly server: FtsServer;
  /**
   * The data folder (a fresh temporary directory), unused when the test
   * gave the server a storage of its own.
   */
  readonly root: string;
  /** Every line the server logged. */
  readonly logs: string[];
  /**
   * Resolves with the first log line (past or future) matching `pattern`;
   * rejects after 10 s so that a bug fails instead of hanging.
   */
  waitForLog(pattern: RegExp): Promise<string>;
  /** Connects a raw client (handshake done unless told otherwise). */
  connect(options?: RawConnectOptions): Promise<RawClient>;
  /**
   * Names of the files in `<root>/.fts/partial`.
   *
   * @throws {TypeError} when the test gave the server its storage.
   */
  partials(): Promise<string[]>;
  /**
   * Every path under the root except `.fts/`, sorted ("a", "d/", "d/b"); with
   * a storage the test gave, every path its listings show.
   */
  visible(): Promise<string[]>;
}

const LOG_WAIT_MS = 10_000;

/** Starts a server; `await using` shuts it down and removes the folder. */
export async function startTestServer(
  options: Omit<ServerOptions, "root" | "host" | "port"> = {},
): Promise<TestServer> {
  const root = await Deno.makeTempDir({ prefix: "fts_server_test_" });
  const logs: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const server = await startServer({
    ...options,
    root,
    host: "127.0.0.1",
    port: 0,
    log: (line) => {
      logs.push(line);
      options.log?.(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    },
  });
  return {
    server,
    root,
    logs,
    waitForLog: (pattern) => {
      const seen = logs.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      // A safety net so a bug fails the test instead of hanging it.
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`No log line matched ${pattern} within 10 s`));
        }, LOG_WAIT_MS);
        const waiter = {
          pattern,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.push(waiter);
      });
    },
    connect: (connectOptions) => RawClient.connect(server.addr, connectOptions),
    partials: async () => {
      if (options.storage) {
        throw new TypeError("A storage given by the test has no partial files");
      }
      const names: string[] = [];
      for await (const e of Deno.readDir(join(root, ".fts", "partial"))) {
        names.push(e.name);
      }
      return names.sort();
    },
    visible: () =>
      options.storage ? walkStorage(options.storage, "") : walk(root, ""),
    async [Symbol.asyncDispose]() {
      await server.shutdown(0);
      await Deno.remove(root, { recursive: true });
    },
  };
}

async function walk(root: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(root, prefix))) {
    const name = prefix === "" ? e.name : `${prefix}/${e.name}`;
    if (name === ".fts") continue;
    if (e.isDirectory) {
      out.push(`${name}/`, ...await walk(root, name));
    } else {
      out.push(name);
    }
  }
  return out.sort();
}

async function walkStorage(storage: Storage, path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const page of storage.list(path)) {
    for (const e of page) {
      const name = path === "" ? e.name : `${path}/${e.name}`;
      if (e.type === "dir") {
        out.push(`${name}/`, ...await walkStorage(storage, name));
      } else out.push(name);
    }
  }
  return out.sort();
}
