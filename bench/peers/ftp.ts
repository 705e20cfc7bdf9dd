/**
 * vsftpd on a free port of 127.0.0.1 (plain FTP, no encryption, anonymous
 * with upload rights into its `pub` folder) and curl as the client. FTP
 * opens a second connection per file, so it cannot run through the
 * one-port shaping proxy. curl uses active mode (the server connects back
 * to 127.0.0.1): in passive mode, transfers after the first on one control
 * connection stalled 1–4 s each on this machine, which would measure the
 * stall rather than FTP.
 *
 * @module
 */

import { join } from "node:path";
import { freePort, run, startDaemon, which } from "../command.ts";
import { curlBatch, curlVersion, packageVersion } from "./curl.ts";
import { listFiles } from "../verify.ts";
import type { Peer, PeerKind, Tool } from "./tool.ts";

const ANON_USER = "ftp";

export const ftpPeer: PeerKind = {
  toolNames: ["ftp"],
  missing() {
    if (which("vsftpd") === undefined) return "vsftpd is not installed";
    if (which("curl") === undefined) return "curl is not installed";
    if (Deno.uid() !== 0) return "vsftpd needs root to start here";
    return undefined;
  },
  async start(dir: string): Promise<Peer> {
    const anonRoot = join(dir, "anon");
    const root = join(anonRoot, "pub");
    const empty = join(dir, "empty");
    Deno.mkdirSync(anonRoot, { mode: 0o755 });
    Deno.mkdirSync(root);
    Deno.mkdirSync(empty);
    const [uid, gid] = await run("id", ["-u", ANON_USER]).then(async (u) => [
      Number(u),
      Number(await run("id", ["-g", ANON_USER])),
    ]);
    Deno.chownSync(root, uid!, gid!);
    const port = freePort();
    const config = join(dir, "vsftpd.conf");
    Deno.writeTextFileSync(
      config,
      [
        "listen=YES",
        "listen_ipv6=NO",
        "listen_address=127.0.0.1",
        `listen_port=${port}`,
        "background=NO",
        "anonymous_enable=YES",
        `ftp_username=${ANON_USER}`,
        `anon_root=${anonRoot}`,
        "no_anon_password=YES",
        "write_enable=YES",
        "anon_upload_enable=YES",
        "anon_mkdir_write_enable=YES",
        "anon_other_write_enable=YES",
        "anon_world_readable_only=NO",
        "anon_umask=022",
        "local_enable=NO",
        "port_enable=YES",
        "connect_from_port_20=NO",
        "pasv_enable=YES",
        "pasv_address=127.0.0.1",
        "max_clients=0",
        "max_per_ip=0",
        "xferlog_enable=NO",
        "seccomp_sandbox=NO",
        `secure_chroot_dir=${empty}`,
        "",
      ].join("\n"),
    );
    const daemon = await startDaemon(
      "vsftpd",
      which("vsftpd")!,
      [config],
      port,
    );
    const base = `ftp://127.0.0.1:${port}/pub`;
    const args = ["--ftp-create-dirs", "--ftp-port", "127.0.0.1"];
    const tool: Tool = {
      name: "ftp",
      description: `curl to vsftpd ${await packageVersion("vsftpd")} ` +
        `(plain FTP, active mode; ${await curlVersion()})`,
      root,
      port,
      serverPids: [daemon.pid],
      proxyable: false,
      putFile: (local, remote) =>
        curlBatch([{ upload: local, url: `${base}/${remote}` }], { args, dir }),
      getFile: (remote, local) =>
        curlBatch([{ url: `${base}/${remote}`, output: local }], { args, dir }),
      putTree: (local, remote) =>
        curlBatch(
          listFiles(local).map((f) => ({
            upload: join(local, f),
            url: `${base}/${remote}/${f}`,
          })),
          { args, dir },
        ),
      getTree: (remote, local) =>
        curlBatch(
          listFiles(join(root, remote)).map((f) => ({
            url: `${base}/${remote}/${f}`,
            output: join(local, f),
          })),
          { args, dir },
        ),
      fetchMany: (remote, locals) =>
        curlBatch(
          locals.map((output) => ({ url: `${base}/${remote}`, output })),
          { args, dir, parallel: true },
        ),
    };
    return {
      tools: [tool],
      async [Symbol.asyncDispose]() {
        await daemon[Symbol.asyncDispose]();
      },
    };
  },
};
