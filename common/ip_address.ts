/**
 * IP address literals, parsed once for both sides with `ipaddr.js` (the
 * parser Express's `proxy-addr` uses): strict dotted IPv4, IPv6 in any of
 * its spellings with an optional `%zone`, and one canonical form for each
 * (RFC 5952 for IPv6), so that `0:0::1` and `::1` are the same server.
 *
 * @module
 */

import ipaddr from "ipaddr.js";

/** An IP address literal in its canonical form. */
export interface IpLiteral {
  readonly family: 4 | 6;
  /**
   * Dotted decimal for IPv4; RFC 5952 (lowercase, shortest, `::`) for IPv6,
   * with its `%zone` when it has one.
   */
  readonly address: string;
  /** The IPv6 zone id (`lo` of `fe80::1%lo`), or null. */
  readonly zone: string | null;
}

/**
 * Parses an IP address literal without brackets or port: four-part decimal
 * IPv4 (`127.0.0.1`, not `127.1` or `0x7f.1`) or IPv6, optionally with a
 * zone id (`fe80::1%eth0`).
 *
 * @returns the canonical literal, or null when `text` is not one.
 * @example
 * ```ts
 * parseIpLiteral("0:0::1"); // { family: 6, address: "::1", zone: null }
 * parseIpLiteral("example.org"); // null
 * ```
 */
export function parseIpLiteral(text: string): IpLiteral | null {
  if (text.includes(":")) {
    if (!ipaddr.IPv6.isValid(text)) return null;
    const ip = ipaddr.IPv6.parse(text);
    const zone = ip.zoneId ?? null;
    if (zone !== null && !/^[A-Za-z0-9_.-]{1,64}$/.test(zone)) return null;
    return { family: 6, address: ip.toRFC5952String(), zone };
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return null;
  return { family: 4, address: ipaddr.IPv4.parse(text).toString(), zone: null };
}

/**
 * Tells whether `text` is written like an IPv4 address (only digits and
 * dots), so that a malformed one (`999.1.1.1`, `1.2.3.4.5`) is reported as
 * a bad address rather than looked up as a host name.
 */
export function looksLikeIpv4(text: string): boolean {
  return /^[0-9.]+$/.test(text) && text.includes(".");
}

/**
 * Tells whether `text` is a loopback address literal: `127.0.0.0/8`, `::1`,
 * or a loopback IPv4 address mapped into IPv6 (`::ffff:127.0.0.1`). The
 * wildcards `0.0.0.0` and `::` are not loopback; names are not looked at.
 */
export function isLoopbackAddress(text: string): boolean {
  const ip = parseIpLiteral(text);
  if (ip === null) return false;
  const parsed = ipaddr.parse(ip.address.split("%")[0]!);
  const plain = parsed.kind() === "ipv6" &&
      (parsed as ipaddr.IPv6).isIPv4MappedAddress()
    ? (parsed as ipaddr.IPv6).toIPv4Address()
    : parsed;
  return plain.range() === "loopback";
}

/**
 * The network a client address is counted under: an IPv4 address as it is
 * (also when mapped into IPv6), an IPv6 address by its /64 network
 * (`2001:db8:1:2::/64`), whose zone id is dropped; null for anything else.
 * One IPv6 host usually has a whole /64 to pick addresses from.
 *
 * @example
 * ```ts
 * addressNetwork("2001:db8:1:2::7"); // "2001:db8:1:2::/64"
 * addressNetwork("::ffff:192.0.2.1"); // "192.0.2.1"
 * ```
 */
export function addressNetwork(text: string): string | null {
  const ip = parseIpLiteral(text);
  if (ip === null) return null;
  if (ip.family === 4) return ip.address;
  const v6 = ipaddr.IPv6.parse(ip.address.split("%")[0]!);
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${v6.toString()}/64`);
  return `${network.toRFC5952String()}/64`;
}
