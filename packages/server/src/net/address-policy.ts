/**
 * Which IP addresses a URL fetched on a client's behalf (input images, webhook targets) may reach.
 *
 * `isPrivateAddress` is the SSRF guard: loopback, private, link-local, shared (CGNAT), reserved,
 * multicast and broadcast ranges, in IPv4 and IPv6, including IPv6 forms that embed an IPv4
 * address (IPv4-mapped, IPv4-compatible, SIIT, NAT64 64:ff9b::/96 and 6to4 2002::/16), which are
 * judged by the IPv4 address they carry. Anything that is not a valid IP literal counts as
 * private: the guard fails closed.
 *
 * `isAlwaysRefusedAddress` is the smaller set refused even when private addresses are allowed
 * (SUPERRES_ALLOW_PRIVATE_URLS=true): link-local (where cloud metadata endpoints live), other
 * metadata endpoints, multicast and broadcast, which are never a legitimate place to download an
 * image from or to deliver a webhook to.
 */
import { isIP } from 'node:net';

type Range = readonly [base: number, prefix: number];

/** IPv4 ranges as [network as uint32, prefix length]. */
const PRIVATE_V4: readonly Range[] = [
  [v4(0, 0, 0, 0), 8], // "this network"
  [v4(10, 0, 0, 0), 8], // RFC 1918
  [v4(100, 64, 0, 0), 10], // shared address space (CGNAT), RFC 6598
  [v4(127, 0, 0, 0), 8], // loopback
  [v4(169, 254, 0, 0), 16], // link-local (cloud metadata lives here)
  [v4(172, 16, 0, 0), 12], // RFC 1918
  [v4(192, 0, 0, 0), 24], // IETF protocol assignments
  [v4(192, 168, 0, 0), 16], // RFC 1918
  [v4(198, 18, 0, 0), 15], // benchmarking
  [v4(224, 0, 0, 0), 4], // multicast
  [v4(240, 0, 0, 0), 4], // reserved (includes 255.255.255.255)
];

const ALWAYS_REFUSED_V4: readonly Range[] = [
  // Link-local, whole: metadata endpoints of AWS, GCP, Azure, OpenStack (169.254.169.254), AWS ECS
  // (169.254.170.2) and others live here, and no image host does.
  [v4(169, 254, 0, 0), 16],
  [v4(100, 100, 100, 200), 32], // Alibaba Cloud metadata
  [v4(224, 0, 0, 0), 4], // multicast
  [v4(255, 255, 255, 255), 32], // limited broadcast
];

function v4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function inRanges(value: number, ranges: readonly Range[]): boolean {
  for (const [base, prefix] of ranges) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if (((value & mask) >>> 0) === base) return true;
  }
  return false;
}

/** Parses a dotted-quad IPv4 address (as `isIP` accepts it) to a uint32, or undefined. */
function parseV4(ip: string): number | undefined {
  if (isIP(ip) !== 4) return undefined;
  const parts = ip.split('.').map(Number);
  return v4(parts[0]!, parts[1]!, parts[2]!, parts[3]!);
}

/** Parses an IPv6 address (brackets and a zone id tolerated) to 16 bytes, or undefined. */
export function parseIPv6(input: string): Uint8Array | undefined {
  let ip = input.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  if (zone !== -1) ip = ip.slice(0, zone);
  if (isIP(ip) !== 6) return undefined;

  // A trailing dotted quad becomes two hextets.
  const lastColon = ip.lastIndexOf(':');
  const tail = ip.slice(lastColon + 1);
  if (tail.includes('.')) {
    const value = parseV4(tail);
    if (value === undefined) return undefined;
    ip = `${ip.slice(0, lastColon + 1)}${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}`;
  }

  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const hextets = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];

  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const value = Number.parseInt(hextets[i]!, 16);
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) return undefined;
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  }
  return bytes;
}

function readV4(bytes: Uint8Array, offset: number): number {
  return v4(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
}

function allZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * The IPv4 address an IPv6 address stands for, where it embeds one that a packet may end up at:
 * IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d, also covers :: and ::1), SIIT
 * (::ffff:0:a.b.c.d), NAT64 well-known prefix (64:ff9b::/96) and 6to4 (2002:aabb:ccdd::/16).
 */
export function embeddedIPv4(bytes: Uint8Array): number | undefined {
  // ::a.b.c.d and ::ffff:a.b.c.d and ::ffff:0:a.b.c.d
  if (allZero(bytes, 0, 8)) {
    const w4 = (bytes[8]! << 8) | bytes[9]!;
    const w5 = (bytes[10]! << 8) | bytes[11]!;
    if ((w4 === 0 && (w5 === 0 || w5 === 0xffff)) || (w4 === 0xffff && w5 === 0)) return readV4(bytes, 12);
    return undefined;
  }
  // 64:ff9b::/96
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && allZero(bytes, 4, 12)) {
    return readV4(bytes, 12);
  }
  // 2002::/16
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return readV4(bytes, 2);
  return undefined;
}

function privateV6(bytes: Uint8Array): boolean {
  const embedded = embeddedIPv4(bytes);
  if (embedded !== undefined) return inRanges(embedded, PRIVATE_V4);
  const b0 = bytes[0]!;
  const b1 = bytes[1]!;
  if ((b0 & 0xfe) === 0xfc) return true; // fc00::/7 unique local
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return true; // fe80::/10 link-local
  if (b0 === 0xfe && (b1 & 0xc0) === 0xc0) return true; // fec0::/10 site-local (deprecated)
  if (b0 === 0xff) return true; // ff00::/8 multicast
  // 2001::/32 Teredo: a tunnel whose far end is an IPv4 address carried inside (obfuscated);
  // 2001:db8::/32 documentation.
  if (isTeredo(bytes) || (b0 === 0x20 && b1 === 0x01 && bytes[2] === 0x0d && bytes[3] === 0xb8)) return true;
  // 64:ff9b:1::/48 local-use NAT64 (RFC 8215): translated to whatever the local network chose.
  if (b0 === 0x00 && b1 === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && bytes[4] === 0 && bytes[5] === 1) return true;
  // 100::/64 discard-only
  if (b0 === 0x01 && b1 === 0x00 && allZero(bytes, 2, 8)) return true;
  return false;
}

function isTeredo(bytes: Uint8Array): boolean {
  return bytes[0] === 0x20 && bytes[1] === 0x01 && bytes[2] === 0 && bytes[3] === 0;
}

function alwaysRefusedV6(bytes: Uint8Array): boolean {
  const embedded = embeddedIPv4(bytes);
  if (embedded !== undefined) return inRanges(embedded, ALWAYS_REFUSED_V4);
  // Teredo: the client's IPv4 address is the last 32 bits, inverted.
  if (isTeredo(bytes) && inRanges((readV4(bytes, 12) ^ 0xffffffff) >>> 0, ALWAYS_REFUSED_V4)) return true;
  if (bytes[0] === 0xff) return true; // multicast
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) return true; // fe80::/10 link-local
  // fd00:ec2::254, the AWS metadata endpoint over IPv6
  const awsV6 = parseIPv6('fd00:ec2::254')!;
  return bytes.every((b, i) => b === awsV6[i]);
}

/** True when `ip` is not a public unicast address, or not a valid IP literal at all. */
export function isPrivateAddress(ip: string): boolean {
  const value = parseV4(ip.trim());
  if (value !== undefined) return inRanges(value, PRIVATE_V4);
  const bytes = parseIPv6(ip);
  if (bytes === undefined) return true;
  return privateV6(bytes);
}

/**
 * True for addresses refused even when private addresses are allowed: link-local (169.254/16,
 * fe80::/10) and the other cloud metadata endpoints (100.100.100.200, fd00:ec2::254), multicast
 * and broadcast, in any IPv6 form that embeds them (Teredo included). Invalid literals are
 * refused too.
 */
export function isAlwaysRefusedAddress(ip: string): boolean {
  const value = parseV4(ip.trim());
  if (value !== undefined) return inRanges(value, ALWAYS_REFUSED_V4);
  const bytes = parseIPv6(ip);
  if (bytes === undefined) return true;
  return alwaysRefusedV6(bytes);
}
