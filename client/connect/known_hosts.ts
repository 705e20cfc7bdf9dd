/**
 * The servers this user trusts, like ssh's known_hosts: one line per server,
 * `HOST:PORT SHA256:FINGERPRINT`, in the config folder. A line may carry a
 * third field, the server's certificate (base64 DER), that lets the next
 * connection go pinned at once, without first probing for the certificate;
 * the fingerprint alone decides trust, and a certificate that does not
 * match it is never used.
 *
 * ```text
 * # fts known hosts: HOST:PORT SHA256:FINGERPRINT
 * 127.0.0.1:12345 SHA256:u6tlZUS/baH9Lr56Zs+gR7BuYQMEZxyDtvFxW68qeeA
 * [::1]:2000 SHA256:Xq1S0V3GtVJ6u+uU2PpGh6mS1Yx9rGm1Wl2bU8f2yXs
 * ```
 *
 * Host names are lowercased, IPv6 addresses written in brackets in their
 * short form; lines that do not parse and comments are kept as they are.
 *
 * @module
 */

import { dirname } from "node:path";
import { base64 } from "@scure/base";
import { normaliseFingerprint } from "../../common/fingerprint.ts";
import { parseIpLiteral } from "../../common/ip_address.ts";
import {
  ensurePrivateDir,
  writeFileAtomic,
} from "../../common/private_files.ts";

/** Name of the file inside the config folder (see `common/config_dir.ts`). */
export const KNOWN_HOSTS_FILE = "known_hosts";

/** What is stored for one server. */
export interface KnownHost {
  /** The pinned fingerprint. */
  readonly fingerprint: string;
  /** The server's certificate (DER) as last seen, if stored with the pin. */
  readonly certificate: Uint8Array | null;
}

/** What the store says about a server's offered fingerprint. */
export type HostVerdict = "match" | "unknown" | { mismatch: string };

const HEADER = "# fts known hosts: HOST:PORT SHA256:FINGERPRINT\n";

/**
 * The key a server is stored under: `host:port`, the host lowercased (IDN
 * names in punycode, IPv4 in dotted form, trailing dot dropped) and an IPv6
 * address in brackets in its short form (RFC 5952), with its zone id if any.
 *
 * @throws {TypeError} for a host that is not a valid name or address.
 * @throws {RangeError} for a port outside 1..65535.
 * @example
 * ```ts
 * hostKey("Example.ORG.", 2000); // "example.org:2000"
 * hostKey("0:0::1", 12345); // "[::1]:12345"
 * ```
 */
export function hostKey(hostname: string, port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Port ${port} is not between 1 and 65535`);
  }
  let host = hostname.startsWith("[") && hostname.endsWith("]")
    ? hostname.slice(1, -1)
    : hostname;
  if (host.includes(":")) {
    const ip = parseIpLiteral(host);
    if (ip === null) throw new TypeError(`"${hostname}" is not a valid host`);
    host = `[${ip.address}]`;
  } else {
    host = parseHost(host, hostname).replace(/\.$/, "");
  }
  if (host === "") throw new TypeError(`"${hostname}" is not a valid host`);
  return `${host}:${port}`;
}

/**
 * The known_hosts file. Every call reads the file afresh; changes are
 * written atomically (temporary file, fsync, rename) with mode 0600. Two
 * clients adding at the same moment may lose one of the two additions,
 * never the file.
 *
 * @example
 * ```ts
 * const known = new KnownHosts(join(configDir(), KNOWN_HOSTS_FILE));
 * const key = hostKey("127.0.0.1", 12345);
 * if (await known.verify(key, offered) === "unknown") await known.add(key, offered);
 * ```
 */
export class KnownHosts {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  /** The file's path. */
  get file(): string {
    return this.#file;
  }

  /** Every stored server, in file order (comments and junk lines left out). */
  async list(): Promise<{ key: string; fingerprint: string }[]> {
    return (await this.#read()).flatMap((line) =>
      line.key !== null && line.fingerprint !== null
        ? [{ key: line.key, fingerprint: line.fingerprint }]
        : []
    );
  }

  /** The fingerprint stored for `key` (from {@linkcode hostKey}), or null. */
  async lookup(key: string): Promise<string | null> {
    return (await this.entry(key))?.fingerprint ?? null;
  }

  /**
   * The pin stored for `key` with its certificate, or null. The certificate
   * is as stored: the caller checks it against the fingerprint before use.
   */
  async entry(key: string): Promise<KnownHost | null> {
    const line = (await this.#read()).find((line) => line.key === key);
    if (line === undefined || line.fingerprint === null) return null;
    return { fingerprint: line.fingerprint, certificate: line.certificate };
  }

  /**
   * Compares `fingerprint` with what is stored for `key`: "match", "unknown"
   * (nothing stored) or `{ mismatch: stored }`.
   */
  async verify(key: string, fingerprint: string): Promise<HostVerdict> {
    const offered = normaliseFingerprint(fingerprint);
    const stored = (await this.#read()).filter((line) => line.key === key);
    if (stored.length === 0) return "unknown";
    if (stored.some((line) => line.fingerprint === offered)) return "match";
    return { mismatch: stored[0]!.fingerprint! };
  }

  /**
   * Stores `fingerprint` for `key`, with the server's certificate (DER) when
   * `options.certificate` is given. Storing the fingerprint already there
   * does nothing, unless it adds or changes the certificate.
   *
   * @throws {Error} when a different fingerprint is stored for `key`, unless
   * `options.replace` is true.
   */
  async add(
    key: string,
    fingerprint: string,
    options: { replace?: boolean; certificate?: Uint8Array } = {},
  ): Promise<void> {
    const value = normaliseFingerprint(fingerprint);
    const certificate = options.certificate === undefined
      ? null
      : base64.encode(options.certificate);
    const lines = await this.#read();
    const mine = lines.filter((line) => line.key === key);
    const same = mine.length === 1 && mine[0]!.fingerprint === value;
    if (same && (certificate === null || mine[0]!.stored === certificate)) {
      return;
    }
    if (mine.length > 0 && !same && !options.replace) {
      throw new Error(
        `Cannot store the identity of "${key}": "${this.#file}" already holds another one`,
      );
    }
    const kept = lines.filter((line) => line.key !== key).map((l) => l.text);
    if (kept.length === 0) kept.push(HEADER.trimEnd());
    kept.push(
      `${key} ${value}${certificate === null ? "" : ` ${certificate}`}`,
    );
    await ensurePrivateDir(dirname(this.#file));
    await writeFileAtomic(this.#file, kept.join("\n") + "\n");
  }

  /** Removes every line for `key`; tells whether there was one. */
  async remove(key: string): Promise<boolean> {
    const lines = await this.#read();
    const kept = lines.filter((line) => line.key !== key);
    if (kept.length === lines.length) return false;
    await writeFileAtomic(
      this.#file,
      kept.map((line) => line.text).join("\n") + "\n",
    );
    return true;
  }

  // Synchronous: one small file, read once per connection, where each
  // asynchronous file call costs a trip through the thread pool.
  // deno-lint-ignore require-await
  async #read(): Promise<Line[]> {
    let text: string;
    try {
      text = Deno.readTextFileSync(this.#file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    return text.split("\n").filter((line, i, all) =>
      line !== "" || i < all.length - 1
    ).map(parseLine);
  }
}

/** One line of the file: its text, and its meaning when it has one. */
interface Line {
  text: string;
  key: string | null;
  fingerprint: string | null;
  /** The certificate field as written (base64), or null. */
  stored: string | null;
  /** The certificate field decoded; null when absent or not base64. */
  certificate: Uint8Array | null;
}

function parseLine(text: string): Line {
  const fields = text.trim().split(/\s+/);
  const junk = { text, key: null, fingerprint: null, stored: null };
  if (fields.length < 2 || fields[0]!.startsWith("#")) {
    return { ...junk, certificate: null };
  }
  try {
    const stored = fields[0]!;
    const colon = stored.lastIndexOf(":");
    const port = Number(stored.slice(colon + 1));
    const key = hostKey(stored.slice(0, colon), port);
    const fingerprint = normaliseFingerprint(fields[1]!);
    const field = fields[2] ?? null;
    return {
      text,
      key,
      fingerprint,
      stored: field,
      certificate: field === null ? null : decodeCertificate(field),
    };
  } catch {
    return { ...junk, certificate: null }; // kept, never matched
  }
}

/** A certificate field's bytes; null when it is not base64 (then unused). */
function decodeCertificate(field: string): Uint8Array | null {
  if (field.length > MAX_CERTIFICATE_FIELD) return null;
  try {
    return base64.decode(field);
  } catch {
    return null;
  }
}

/** A certificate field longer than this is ignored (an fts identity is ~600). */
const MAX_CERTIFICATE_FIELD = 16_384;

function parseHost(host: string, original: string): string {
  if (host === "" || /[\s/\\@?#%]/.test(host)) {
    throw new TypeError(`"${original}" is not a valid host`);
  }
  try {
    return new URL(`http://${host}/`).hostname;
  } catch (cause) {
    throw new TypeError(`"${original}" is not a valid host`, { cause });
  }
}
