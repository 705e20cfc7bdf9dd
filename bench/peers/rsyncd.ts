/**
 * `rsync --daemon` on a free port of 127.0.0.1 (plain TCP, no encryption:
 * how rsync modules are usually served) and the rsync client.
 *
 * @module
 */

import { join } from "node:path";
import { freePort, run, startDaemon, which } from "../command.ts";
import { rsyncVersion } from "./sshd.ts";
import {
  fetchManyByProcesses,
  type Peer,
  type PeerKind,
  type Tool,
  type TransferOptions,
} from "./tool.ts";

export const rsyncdPeer: PeerKind = {
  toolNames: ["rsyncd"],
  missing: () =>
    which("rsync") === undefined ? "rsync is not installed" : undefined,
  async start(dir: string): Promise<Peer> {
    const root = join(dir, "root");
    Deno.mkdirSync(root);
    const port = freePort();
    const config = join(dir, "rsyncd.conf");
    Deno.writeTextFileSync(
      config,
      [
        `pid file = ${join(dir, "rsyncd.pid")}`,
        "use chroot = no",
        "max connections = 0",
        `log file = ${join(dir, "rsyncd.log")}`,
        ...(Deno.uid() === 0 ? ["uid = root", "gid = root"] : []),
        "[bench]",
        `  path = ${root}`,
        "  read only = no",
        "",
      ].join("\n"),
    );
    const daemon = await startDaemon("rsync --daemon", "rsync", [
      "--daemon",
      "--no-detach",
      `--config=${config}`,
      `--port=${port}`,
      "--address=127.0.0.1",
    ], port);
    const url = (remote: string, options?: TransferOptions) =>
      `rsync://127.0.0.1:${options?.port ?? port}/bench/${remote}`;
    const rsync = (args: string[], options?: TransferOptions) =>
      run("rsync", ["-a", ...(options?.compress ? ["-z"] : []), ...args])
        .then(() => {});
    const tool: Tool = {
      name: "rsyncd",
      description:
        `rsync -a to rsync --daemon, ${await rsyncVersion()} (plain TCP)`,
      root,
      port,
      serverPids: [daemon.pid],
      proxyable: true,
      putFile: (local, remote, options) =>
        rsync([local, url(remote, options)], options),
      getFile: (remote, local, options) =>
        rsync([url(remote, options), local], options),
      putTree: (local, remote) => rsync([`${local}/`, `${url(remote)}/`]),
      getTree: (remote, local) => rsync([`${url(remote)}/`, `${local}/`]),
      fetchMany: (remote, locals) => fetchManyByProcesses(tool, remote, locals),
    };
    return {
      tools: [tool],
      async [Symbol.asyncDispose]() {
        await daemon[Symbol.asyncDispose]();
      },
    };
  },
};
