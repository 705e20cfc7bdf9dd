/**
 * How the benchmarks that drive the client engine directly connect: TLS,
 * pinned to the certificate the server presents. The certificate is probed
 * once per server and then remembered, as a client that knows the server
 * (its known_hosts entry holds the certificate) connects without a probe.
 *
 * @module
 */

import { connectPinned } from "../client/connect/tls_connect.ts";
import { probeCertificate } from "../client/connect/tls_probe.ts";

const probed = new Map<string, Promise<string>>();

/** Connects with TLS, pinned to the certificate the server presents. */
export async function connectTls(
  target: { hostname: string; port: number },
): Promise<Deno.TlsConn> {
  const key = `${target.hostname}:${target.port}`;
  let certPem = probed.get(key);
  if (certPem === undefined) {
    certPem = probeCertificate(target.hostname, target.port).then((seen) =>
      seen.certPem
    );
    probed.set(key, certPem);
    certPem.catch(() => probed.delete(key));
  }
  return await connectPinned(target.hostname, target.port, {
    pinnedCertPem: await certPem,
  });
}
