/**
 * The limits the tools are measured against: `cp` on the same tmpfs (what
 * moving the bytes costs without a network) and one iperf3 TCP stream over
 * 127.0.0.1 (what loopback carries without files).
 *
 * @module
 */

import { join } from "node:path";
import { freePort, run, startDaemon, versionLine, which } from "../command.ts";
import {
  fetchManyByProcesses,
  type Peer,
  type PeerKind,
  type Tool,
} from "./tool.ts";

export const cpPeer: PeerKind = {
  toolNames: ["cp"],
  missing: () => which("cp") === undefined ? "cp is not installed" : undefined,
  async start(dir: string): Promise<Peer> {
    const root = join(dir, "root");
    Deno.mkdirSync(root);
    const cp = (args: string[]) => run("cp", args).then(() => {});
    const tool: Tool = {
      name: "cp",
      description: `${await versionLine("cp", ["--version"])} (no network)`,
      root,
      port: undefined,
      serverPids: [],
      proxyable: false,
      putFile: (local, remote) => cp([local, join(root, remote)]),
      getFile: (remote, local) => cp([join(root, remote), local]),
      putTree: (local, remote) => cp(["-r", local, join(root, remote)]),
      getTree: (remote, local) => cp(["-r", join(root, remote), local]),
      fetchMany: (remote, locals) => fetchManyByProcesses(tool, remote, locals),
    };
    return { tools: [tool], [Symbol.asyncDispose]: () => Promise.resolve() };
  },
};

/**
 * One iperf3 TCP stream over 127.0.0.1 for `seconds`; returns MB/s
 * received, or undefined when iperf3 is not installed.
 */
export async function iperf3(seconds: number): Promise<number | undefined> {
  if (which("iperf3") === undefined) return undefined;
  const port = freePort();
  await using _server = await startDaemon(
    "iperf3",
    "iperf3",
    [
      "--server",
      "--forceflush",
      "--bind",
      "127.0.0.1",
      "--port",
      String(port),
    ],
    port,
    { readyLine: /Server listening on/ },
  );
  const out = await run("iperf3", [
    "--client",
    "127.0.0.1",
    "--port",
    String(port),
    "--time",
    String(seconds),
    "--json",
  ]);
  const report = JSON.parse(out) as {
    end?: { sum_received?: { bits_per_second?: number } };
  };
  const bits = report.end?.sum_received?.bits_per_second;
  if (typeof bits !== "number") throw new Error("iperf3 reported no rate");
  return bits / 8 / 1e6;
}

/** "iperf 3.12", or undefined when it is not installed. */
export async function iperf3Version(): Promise<string | undefined> {
  if (which("iperf3") === undefined) return undefined;
  return (await versionLine("iperf3", ["--version"])).split(" (")[0];
}
