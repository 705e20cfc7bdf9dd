/**
 * Parses the `HOST[:PORT]` argument of `fts connect`.
 *
 * @module
 */

import { looksLikeIpv4, parseIpLiteral } from "../../common/ip_address.ts";
import { DEFAULT_PORT } from "../../protocol/frame.ts";
import { quoteName } from "../../protocol/names.ts";

/** Where to connect. */
export interface Target {
  /** Host name or IP address, without IPv6 brackets. */
  readonly hostname: string;
  readonly port: number;
}

/**
 * Parses `HOST`, `HOST:PORT`, `[IPV6]` or `[IPV6]:PORT`. A bare IPv6 address
 * without brackets (`::1`, `fe80::1%eth0`) is accepted too, but cannot carry
 * a port: `::1:2000` is the address `::1:2000`, so a port needs brackets.
 * IP addresses come back in their canonical form (`0:0::1` becomes `::1`).
 *
 * @throws {SyntaxError} for an empty or malformed host, a bad port or
 * unbalanced brackets; the message is one line naming the problem.
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
    if (close < 0) {
      throw new SyntaxError(`Missing "]" in ${quoteName(text, 80)}`);
    }
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) {
        throw new SyntaxError(
          `Unexpected ${quoteName(rest, 80)} after "]" in ${
            quoteName(text, 80)
          }`,
        );
      }
      port = rest.slice(1);
    }
    const ip = parseIpLiteral(host);
    if (ip?.family !== 6) {
      throw new SyntaxError(
        `${quoteName(host, 80)} in ${
          quoteName(text, 80)
        } is not an IPv6 address`,
      );
    }
    host = ip.address;
  } else {
    const colons = text.split(":").length - 1;
    if (colons === 1) {
      const at = text.indexOf(":");
      host = text.slice(0, at);
      port = text.slice(at + 1);
    } else {
      host = text; // no port, or a bare IPv6 address
    }
    host = checkHost(host, text);
  }
  return {
    hostname: host,
    port: port === undefined ? DEFAULT_PORT : parsePort(port, text),
  };
}

/** `host` checked: an IP address in canonical form, or a host name as given. */
function checkHost(host: string, whole: string): string {
  if (host === "") {
    throw new SyntaxError(`Missing host name in ${quoteName(whole, 80)}`);
  }
  if (host.includes(":")) {
    const ip = parseIpLiteral(host);
    if (ip !== null) return ip.address;
    const last = host.lastIndexOf(":");
    const head = parseIpLiteral(host.slice(0, last));
    const hint = head !== null && /^\d{1,5}$/.test(host.slice(last + 1))
      ? `; with a port, write [${head.address}]:${host.slice(last + 1)}`
      : "";
    throw new SyntaxError(
      `${quoteName(host, 80)} is not a valid IPv6 address${hint}`,
    );
  }
  if (looksLikeIpv4(host)) {
    const ip = parseIpLiteral(host);
    if (ip === null) {
      throw new SyntaxError(
        `${quoteName(host, 80)} is not a valid IPv4 address`,
      );
    }
    return ip.address;
  }
  if (!isHostName(host)) {
    throw new SyntaxError(`${quoteName(host, 80)} is not a valid host name`);
  }
  return host;
}

/**
 * A DNS name (letters, digits, "-", "_" and dots, or an international name
 * that the URL parser turns into punycode), at most 253 characters.
 */
function isHostName(host: string): boolean {
  if (host.length > 253 || /[\s/\\@?#%[\]:]/.test(host)) return false;
  let ascii: string;
  try {
    ascii = new URL(`http://${host}/`).hostname;
  } catch {
    return false;
  }
  return ascii.replace(/\.$/, "").split(".").every((label) =>
    /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label)
  );
}

/** A target with the user to log in as, from `USER@HOST[:PORT]`. */
export interface LoginTarget {
  /** The user name before "@", or null when none was given. */
  readonly user: string | null;
  readonly target: Target;
}

/**
 * Parses `[USER@]HOST[:PORT]` as ssh does: the user is everything before
 * the last "@". The password never goes here (it is read from a terminal,
 * a file or the environment), so the user part must not contain ":".
 *
 * @throws {SyntaxError} for an empty or invalid user name, and as
 * {@linkcode parseTarget}.
 * @example
 * ```ts
 * parseLoginTarget("ana@files.example.org:2000");
 * // { user: "ana", target: { hostname: "files.example.org", port: 2000 } }
 * ```
 */
export function parseLoginTarget(text: string): LoginTarget {
  const at = text.lastIndexOf("@");
  if (at < 0) return { user: null, target: parseTarget(text) };
  const user = text.slice(0, at);
  if (user === "") throw new SyntaxError(`Missing user name before "@"`);
  // deno-lint-ignore no-control-regex -- control characters are what is refused
  if (/[\s:@\x00-\x1f\x7f]/.test(user) || user.length > 64) {
    // Never echoed: "USER:PASSWORD@HOST" would print the password.
    throw new SyntaxError(
      'Invalid user name before "@" (use USER@HOST; a password never goes on the command line)',
    );
  }
  return { user, target: parseTarget(text.slice(at + 1)) };
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
    throw new SyntaxError(`${quoteName(whole, 80)} has an invalid port`);
  }
  const port = Number(text);
  if (port < 1 || port > 65535) {
    throw new SyntaxError(
      `Port ${port} in ${quoteName(whole, 80)} is not between 1 and 65535`,
    );
  }
  return port;
}
