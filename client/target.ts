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
