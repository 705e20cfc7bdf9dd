/**
 * The LIST flood: one connection pipelines many LISTs of a large folder and
 * never reads, against an `fts serve` subprocess, while a second client
 * keeps working. Measures the server's resident memory throughout.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { concat } from "../common/bytes.ts";
import { residentBytes, waitUntil } from "../common/descriptors.ts";
import { FtsProcess } from "../e2e/fts_process.ts";
import { RawClient } from "./raw_client.ts";
import { encodeMessage, PROTOCOL_VERSION } from "../../../protocol/messages.ts";

/**
 * What the tests allow the runtime's garbage collector to leave unreclaimed
 * on top of what the connections hold, as README says.
 */
export const COLLECTOR_SLACK_MIB = 48;

/** What {@linkcode runListFlood} measured. */
export interface FloodResult {
  /** Server RSS before the flood, in bytes. */
  readonly before: number;
  /** Highest server RSS seen during the flood, in bytes. */
  readonly peak: number;
  /** The attacker's LISTs that were answered in full. */
  readonly served: number;
  /** Slowest answer the second client got to a LIST of the top folder, in ms. */
  readonly slowestMs: number;
  /** Slowest PING round trip of the second client, in ms. */
  readonly slowestPingMs: number;
  /**
   * From the first to the last of the attacker's LISTs answered in full,
   * by the server's log, in ms: how long the server worked on the flood
   * before the attacker's unread replies stopped it, on this machine now.
   */
  readonly burstMs: number;
}

/** Options of {@linkcode runListFlood}. */
export interface FloodOptions {
  /** Files in the listed folder. */
  readonly entries: number;
  /** LISTs the attacker pipelines. */
  readonly lists: number;
  /** How long the attacker keeps its socket, in ms. */
  readonly holdMs: number;
}

const SAMPLE_MS = 50;

/** Runs the flood; see the module comment. */
export async function runListFlood(
  options: FloodOptions,
): Promise<FloodResult> {
  const root = await Deno.makeTempDir({ prefix: "fts_flood_" });
  try {
    Deno.mkdirSync(join(root, "big"));
    for (let i = 0; i < options.entries; i++) {
      Deno.writeFileSync(
        join(root, "big", `file-with-a-longish-name-${i}.txt`),
        new Uint8Array(0),
      );
    }
    await using server = new FtsProcess([
      "serve",
      "--no-tls",
      "--root",
      root,
      "--port",
      "0",
    ]);
    const port = await server.port();
    const pid = server.child.pid;
    // Warm-up: one LIST of the folder, read in full, so that what the
    // runtime loads and compiles on first use is not counted as the flood's.
    {
      await using warm = await RawClient.connect({
        hostname: "127.0.0.1",
        port,
      });
      const entries = await warm.list("big");
      assert.ok(Array.isArray(entries) && entries.length === options.entries);
    }
    const before = residentBytes(pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, residentBytes(pid));
    }, SAMPLE_MS);
    let slowestMs = 0;
    let slowestPingMs = 0;
    let burstMs = 0;
    let served = 0;
    // The second client is connected before the flood starts.
    await using other = await RawClient.connect({
      hostname: "127.0.0.1",
      port,
    });
    try {
      const attacker = await Deno.connect({ hostname: "127.0.0.1", port });
      let attackerPort = 0;
      try {
        attackerPort = attacker.localAddr.port;
        const frames = [encodeMessage({
          type: "hello",
          id: 0,
          versions: [PROTOCOL_VERSION],
          features: [],
          agent: "flood",
        })];
        for (let id = 1; id <= options.lists; id++) {
          frames.push(encodeMessage({ type: "list", id, path: "big" }));
        }
        const bytes = concat(frames);
        let offset = 0;
        while (offset < bytes.byteLength) {
          offset += await attacker.write(bytes.subarray(offset));
        }
        // The second client keeps working while the attacker holds its
        // socket, from the moment the server is busy with the flood.
        await server.line(
          new RegExp(`:${attackerPort} list "big" .* ok$`),
        );
        const end = Date.now() + options.holdMs;
        while (Date.now() < end) {
          const pinged = Date.now();
          await other.assertAlive();
          slowestPingMs = Math.max(slowestPingMs, Date.now() - pinged);
          const started = Date.now();
          const entries = await other.list("");
          slowestMs = Math.max(slowestMs, Date.now() - started);
          assert.ok(Array.isArray(entries) && entries.length === 1);
        }
      } finally {
        attacker.close();
      }
      // Requests of a connection that is gone end soon after it goes: the
      // session logs "disconnected" once every request of it has ended.
      await waitUntil(
        () =>
          server.lines.some((l) =>
            l.endsWith(`127.0.0.1:${attackerPort} disconnected`)
          ),
        15_000,
      );
      const listed = server.lines.filter((l) =>
        l.includes(`127.0.0.1:${attackerPort} list "big"`) && l.endsWith(" ok")
      ).map((l) => Date.parse(l.slice(0, l.indexOf(" "))));
      served = listed.length;
      burstMs = Math.max(...listed) - Math.min(...listed);
    } finally {
      clearInterval(sampler);
    }
    return {
      before,
      peak,
      served,
      slowestMs,
      slowestPingMs,
      burstMs,
    };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
