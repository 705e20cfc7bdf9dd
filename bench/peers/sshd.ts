/**
 * An own OpenSSH server for the benchmark (127.0.0.1, a free port, its own
 * host and user keys in a temp folder) and the three tools that use it:
 * sftp, scp and rsync over ssh. Ciphers are the defaults, as users get them.
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
  type TransferOptions,
} from "./tool.ts";

const ALIAS = "fts-bench-sshd";

export const sshdPeer: PeerKind = {
  toolNames: ["sftp", "scp", "rsync-ssh"],
  missing() {
    for (
      const program of ["sshd", "ssh", "ssh-keygen", "sftp", "scp", "rsync"]
    ) {
      if (which(program) === undefined) return `${program} is not installed`;
    }
    return undefined;
  },
  async start(dir: string): Promise<Peer> {
    const root = join(dir, "root");
    Deno.mkdirSync(root);
    const hostKey = join(dir, "host_ed25519");
    const userKey = join(dir, "user_ed25519");
    for (const key of [hostKey, userKey]) {
      await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    }
    Deno.copyFileSync(`${userKey}.pub`, join(dir, "authorized_keys"));
    const hostPub = Deno.readTextFileSync(`${hostKey}.pub`).split(" ");
    Deno.writeTextFileSync(
      join(dir, "known_hosts"),
      `${ALIAS} ${hostPub[0]} ${hostPub[1]}\n`,
    );
    // Privilege separation needs this folder when sshd runs as root.
    if (Deno.uid() === 0) Deno.mkdirSync("/run/sshd", { recursive: true });
    const port = freePort();
    const config = join(dir, "sshd_config");
    Deno.writeTextFileSync(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "MaxStartups 512",
        "MaxSessions 512",
        "LogLevel ERROR",
        `Subsystem sftp ${sftpServer()}`,
        "",
      ].join("\n"),
    );
    const sshd = await startDaemon(
      "sshd",
      which("sshd")!,
      ["-D", "-e", "-f", config],
      port,
    );
    const user = (await run("id", ["-un"])).trim();
    const sshOptions = (compress: boolean) => [
      "-F",
      "/dev/null",
      "-i",
      userKey,
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      `HostKeyAlias=${ALIAS}`,
      "-o",
      `UserKnownHostsFile=${join(dir, "known_hosts")}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `Compression=${compress ? "yes" : "no"}`,
    ];
    const at = (remote: string) => `${user}@127.0.0.1:${join(root, remote)}`;
    const version = await sshVersion();
    const base = {
      root,
      port: sshd.port,
      serverPids: [sshd.pid],
      proxyable: true,
    };
    const sftpBatch = async (lines: string[], options?: TransferOptions) => {
      await run("sftp", [
        "-q",
        "-b",
        "-",
        "-P",
        String(options?.port ?? sshd.port),
        ...sshOptions(options?.compress ?? false),
        `${user}@127.0.0.1`,
      ], { stdin: lines.join("\n") + "\n" });
    };
    const sftp: Tool = {
      ...base,
      name: "sftp",
      description: `sftp, ${version} (default ciphers)`,
      putFile: (local, remote, options) =>
        sftpBatch([`put ${local} ${join(root, remote)}`], options),
      getFile: (remote, local, options) =>
        sftpBatch([`get ${join(root, remote)} ${local}`], options),
      putTree: (local, remote) =>
        sftpBatch([`put -r ${local} ${join(root, remote)}`]),
      getTree: (remote, local) =>
        sftpBatch([`get -r ${join(root, remote)} ${local}`]),
      fetchMany: (remote, locals) => fetchManyByProcesses(sftp, remote, locals),
    };
    const scpRun = (args: string[], options?: TransferOptions) =>
      run("scp", [
        "-q",
        "-P",
        String(options?.port ?? sshd.port),
        ...sshOptions(options?.compress ?? false),
        ...args,
      ]).then(() => {});
    const scp: Tool = {
      ...base,
      name: "scp",
      description: `scp, ${version} (default: SFTP protocol)`,
      putFile: (local, remote, options) => scpRun([local, at(remote)], options),
      getFile: (remote, local, options) => scpRun([at(remote), local], options),
      putTree: (local, remote) => scpRun(["-r", local, at(remote)]),
      getTree: (remote, local) => scpRun(["-r", at(remote), local]),
      fetchMany: (remote, locals) => fetchManyByProcesses(scp, remote, locals),
    };
    const rsyncRun = (args: string[], options?: TransferOptions) =>
      run("rsync", [
        "-a",
        ...(options?.compress ? ["-z"] : []),
        "-e",
        [
          "ssh",
          "-p",
          String(options?.port ?? sshd.port),
          ...sshOptions(false),
        ].join(" "),
        ...args,
      ]).then(() => {});
    const rsync: Tool = {
      ...base,
      name: "rsync-ssh",
      description: `rsync -a over ssh, ${await rsyncVersion()}, ${version}`,
      putFile: (local, remote, options) =>
        rsyncRun([local, at(remote)], options),
      getFile: (remote, local, options) =>
        rsyncRun([at(remote), local], options),
      putTree: (local, remote) => rsyncRun([`${local}/`, `${at(remote)}/`]),
      getTree: (remote, local) => rsyncRun([`${at(remote)}/`, `${local}/`]),
      fetchMany: (remote, locals) =>
        fetchManyByProcesses(rsync, remote, locals),
    };
    return {
      tools: [sftp, scp, rsync],
      async [Symbol.asyncDispose]() {
        await sshd[Symbol.asyncDispose]();
      },
    };
  },
};

/** The rsync version line, e.g. "rsync 3.2.7". */
export async function rsyncVersion(): Promise<string> {
  const out = await run("rsync", ["--version"]);
  const match = out.match(/version (\S+)/);
  return `rsync ${match?.[1] ?? "?"}`;
}

async function sshVersion(): Promise<string> {
  return (await versionLine("ssh", ["-V"])).split(",")[0]!;
}

function sftpServer(): string {
  for (
    const path of ["/usr/lib/openssh/sftp-server", "/usr/libexec/sftp-server"]
  ) {
    try {
      Deno.statSync(path);
      return path;
    } catch {
      // Try the next place.
    }
  }
  return "internal-sftp";
}
