/**
 * nginx serving HTTPS (TLS 1.3 only, a self-signed certificate for
 * 127.0.0.1 made with openssl) on a free port, uploads by WebDAV PUT
 * through its dav module, and curl as the client, trusting exactly that
 * certificate. gzip answers a client that asks (curl --compressed).
 *
 * @module
 */

import { join } from "node:path";
import { freePort, run, startDaemon, versionLine, which } from "../command.ts";
import { curlBatch, curlVersion } from "./curl.ts";
import { listFiles } from "../verify.ts";
import type { Peer, PeerKind, Tool, TransferOptions } from "./tool.ts";

export const httpsPeer: PeerKind = {
  toolNames: ["https"],
  missing() {
    for (const program of ["nginx", "curl", "openssl"]) {
      if (which(program) === undefined) return `${program} is not installed`;
    }
    return undefined;
  },
  async start(dir: string): Promise<Peer> {
    const root = join(dir, "root");
    Deno.mkdirSync(root);
    for (const temp of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
      Deno.mkdirSync(join(dir, temp));
    }
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ]);
    const port = freePort();
    const config = join(dir, "nginx.conf");
    Deno.writeTextFileSync(
      config,
      `${Deno.uid() === 0 ? "user root;\n" : ""}daemon off;
worker_processes auto;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} error;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_max_body_size 0;
  client_body_temp_path ${join(dir, "body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  default_type application/octet-stream;
  types { text/plain log txt; }
  gzip on;
  gzip_types text/plain;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.3;
    root ${root};
    location / {
      dav_methods PUT MKCOL;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
`,
    );
    const daemon = await startDaemon("nginx", which("nginx")!, [
      "-p",
      dir,
      "-c",
      config,
      "-e",
      join(dir, "error.log"),
    ], port);
    const base = (options?: TransferOptions) =>
      `https://127.0.0.1:${options?.port ?? port}`;
    const args = (options?: TransferOptions) => [
      "--cacert",
      cert,
      ...(options?.compress ? ["--compressed"] : []),
    ];
    const tool: Tool = {
      name: "https",
      description: `curl to ${await versionLine("nginx", ["-v"])} ` +
        `(TLS 1.3, WebDAV PUT up; ${await curlVersion()})`,
      root,
      port,
      serverPids: [daemon.pid],
      proxyable: true,
      putFile: (local, remote, options) =>
        curlBatch([{ upload: local, url: `${base(options)}/${remote}` }], {
          args: args(options),
          dir,
        }),
      getFile: (remote, local, options) =>
        curlBatch([{ url: `${base(options)}/${remote}`, output: local }], {
          args: args(options),
          dir,
        }),
      putTree: (local, remote) =>
        curlBatch(
          listFiles(local).map((f) => ({
            upload: join(local, f),
            url: `${base()}/${remote}/${f}`,
          })),
          { args: args(), dir },
        ),
      getTree: (remote, local) =>
        curlBatch(
          listFiles(join(root, remote)).map((f) => ({
            url: `${base()}/${remote}/${f}`,
            output: join(local, f),
          })),
          { args: args(), dir },
        ),
      fetchMany: (remote, locals) =>
        curlBatch(
          locals.map((output) => ({ url: `${base()}/${remote}`, output })),
          { args: args(), dir, parallel: true },
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
