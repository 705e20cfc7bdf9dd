/**
 * Parses the `HOST[:PORT]` argument of `fts connect`.
 *
 * @module
 */

/** The port fts listens on unless told otherwise (the seed's port). */
export const DEFAULT_PORT = 12345;

/** Where to connect. */
export interface Target {
  /** Host name or IP address, without IPv6 brackets. */
  readonly hostname: string;
  readonly port: number;
}

/**
 * Parses `HOST`, `HOST:PORT`, `[IPV6]` or `[IPV6]:PORT`. A bare IPv6 address
 * without brackets (`::1`) is accepted too, with the default port.
 *
 * @throws {SyntaxError} for an empty host, a bad port or unbalanced brackets.
 * @example
 * ```ts
 * parseTarget("[::1]:2000"); // { hostname: "::1", port: 2000 }
 * parseTarget("example.org"); // { hostname: "example.org", port: 12345 }
 * ```
 */
export function parseTarget(text: string): Target {
  let host: string;
  let port: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) throw new SyntaxError(`Missing "]" in "${text}"`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) {
        throw new SyntaxError(`Unexpected "${rest}" after "]" in "${text}"`);
      }
      port = rest.slice(1);
    }
  } else {
    const colons = text.split(":").length - 1;
    if (colons === 1) {
      const at = text.indexOf(":");
      host = text.slice(0, at);
      port = text.slice(at + 1);
    } else {
      host = text; // no port, or a bare IPv6 address
    }
  }
  if (host === "" || /[\s/\\@]/.test(host)) {
    throw new SyntaxError(`"${text}" is not a valid host`);
  }
  return {
    hostname: host,
    port: port === undefined ? DEFAULT_PORT : parsePort(port, text),
  };
}

/** Renders a target back as `HOST:PORT` (`[IPV6]:PORT` for IPv6). */
export function formatTarget(target: Target): string {
  const host = target.hostname.includes(":")
    ? `[${target.hostname}]`
    : target.hostname;
  return `${host}:${target.port}`;
}

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text)) {
    throw new SyntaxError(`"${whole}" has an invalid port`);
  }
  const port = Number(text);
  if (port < 1 || port > 65535) {
    throw new SyntaxError(
      `Port ${port} in "${whole}" is not between 1 and 65535`,
    );
  }
  return port;
}
