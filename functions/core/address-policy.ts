/**
 * Which URLs and addresses the media worker may fetch from. Pure rules, no I/O: safe fetch applies
 * `checkUrl` to every URL (the first and every redirect hop) and `checkAddress` to every address a
 * host resolves to, at connect time, so a hostile URL can never reach an internal address.
 *
 * Every check answers a reason a person can read (the item's `error` when a URL is `rejected`), or null.
 */

/** What a source's media URLs may point at. */
export interface SafeFetchPolicy {
  /** Accept `http:` as well as `https:`. Local mode only: deployed stacks fetch over https alone. */
  allowHttp: boolean;
  /**
   * `host:port` pairs exempt from the address rules (local mode's CALLVAULT_FETCH_ALLOW, e.g. the demo
   * media server on 127.0.0.1). Compared exactly (case-insensitive), IPv6 hosts in brackets: `[::1]:8080`.
   */
  exemptHostPorts?: readonly string[];
  /** When non-empty, only these host names may be fetched: exact (`media.example.com`) or any subdomain (`*.example.com`). */
  hostAllowlist?: readonly string[];
}

/** Longest URL accepted; pre-signed S3 links are well under 2 KB. */
export const MAX_URL_LENGTH = 8192;

// ---------------------------------------------------------------------------------------------
// IPv4

/**
 * Parse an IPv4 address the way the WHATWG URL parser does (what a browser or undici would connect to):
 * one to four dot-separated numbers, each decimal, octal (leading `0`) or hex (`0x`), the last filling
 * the remaining bytes, so `127.1`, `0x7f.1`, `0177.0.0.1` and `2130706433` are all 127.0.0.1.
 * Returns the address as an unsigned 32-bit number, or null when the text is not an IPv4 address.
 */
export function parseIPv4(input: string): number | null {
  if (!input) return null;
  const parts = input.split('.');
  // One trailing dot is allowed (`127.0.0.1.`), as in a fully-qualified name.
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return null;
  const numbers: bigint[] = [];
  for (const part of parts) {
    const n = parseIPv4Number(part);
    if (n === null) return null;
    numbers.push(n);
  }
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255n)) return null;
  if (last >= 256n ** BigInt(5 - parts.length)) return null;
  let value = last;
  numbers.forEach((n, i) => (value += n * 256n ** BigInt(3 - i)));
  return Number(value);
}

function parseIPv4Number(part: string): bigint | null {
  if (part === '') return null;
  let radix = 10;
  let digits = part;
  if (/^0[xX]/.test(digits)) {
    radix = 16;
    digits = digits.slice(2);
  } else if (digits.length > 1 && digits.startsWith('0')) {
    radix = 8;
    digits = digits.slice(1);
  }
  if (digits === '') return 0n;
  const valid = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) return null;
  return radix === 16 ? BigInt(`0x${digits}`) : radix === 8 ? BigInt(`0o${digits}`) : BigInt(digits);
}

export const formatIPv4 = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

interface Range4 {
  base: number;
  bits: number;
  what: string;
}
const r4 = (cidr: string, what: string): Range4 => {
  const [ip, bits] = cidr.split('/');
  return { base: parseIPv4(ip!)!, bits: Number(bits), what };
};
const in4 = (n: number, r: Range4): boolean => r.bits === 0 || n >>> (32 - r.bits) === r.base >>> (32 - r.bits);

/** Blocked IPv4 ranges, most specific first (the first match names the reason). */
const BLOCKED_V4: Range4[] = [
  r4('169.254.169.254/32', 'the cloud instance metadata address'),
  r4('169.254.170.2/32', 'the container (ECS) metadata address'),
  r4('169.254.169.253/32', 'the cloud DNS resolver address'),
  r4('168.63.129.16/32', 'a cloud platform metadata address'),
  r4('100.100.100.200/32', 'a cloud platform metadata address'),
  r4('255.255.255.255/32', 'the broadcast address'),
  r4('0.0.0.0/8', 'an unspecified ("this network") address'),
  r4('10.0.0.0/8', 'a private address (10.0.0.0/8)'),
  r4('100.64.0.0/10', 'a carrier-grade NAT address (100.64.0.0/10)'),
  r4('127.0.0.0/8', 'a loopback address (127.0.0.0/8)'),
  r4('169.254.0.0/16', 'a link-local address (169.254.0.0/16)'),
  r4('172.16.0.0/12', 'a private address (172.16.0.0/12)'),
  r4('192.0.0.0/24', 'an IETF protocol assignment address (192.0.0.0/24)'),
  r4('192.0.2.0/24', 'a documentation address (192.0.2.0/24)'),
  r4('192.88.99.0/24', 'a 6to4 relay anycast address (192.88.99.0/24)'),
  r4('192.168.0.0/16', 'a private address (192.168.0.0/16)'),
  r4('198.18.0.0/15', 'a benchmarking address (198.18.0.0/15)'),
  r4('198.51.100.0/24', 'a documentation address (198.51.100.0/24)'),
  r4('203.0.113.0/24', 'a documentation address (203.0.113.0/24)'),
  r4('224.0.0.0/4', 'a multicast address (224.0.0.0/4)'),
  r4('240.0.0.0/4', 'a reserved address (240.0.0.0/4)'),
];

function checkIPv4(n: number): string | null {
  return BLOCKED_V4.find((r) => in4(n, r))?.what ?? null;
}

// ---------------------------------------------------------------------------------------------
// IPv6

/** Parse an IPv6 address (brackets, `::`, an embedded dotted IPv4 tail) into eight 16-bit groups; null if it is not one. Zone ids are refused. */
export function parseIPv6(input: string): number[] | null {
  let s = input;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (!s || s.includes('%') || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  // A dotted IPv4 tail becomes the last two groups (strict dotted-decimal here, as RFC 4291 has it).
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    const tail = s.slice(lastColon + 1);
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(tail)) return null;
    const octets = tail.split('.').map(Number);
    if (octets.some((o) => o > 255)) return null;
    const hi = ((octets[0]! << 8) | octets[1]!).toString(16);
    const lo = ((octets[2]! << 8) | octets[3]!).toString(16);
    s = `${s.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (h: string): string[] | null => (h === '' ? [] : h.split(':'));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return null;
  const all = [...head, ...tail];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  if (halves.length === 1 && all.length !== 8) return null;
  if (halves.length === 2 && all.length > 7) return null;
  const fill = new Array<string>(8 - all.length).fill('0');
  const groups = halves.length === 2 ? [...head, ...fill, ...tail] : all;
  return groups.map((g) => parseInt(g, 16));
}

const embedded4 = (g: number[], at: number): number => ((g[at]! << 16) | g[at + 1]!) >>> 0;

function checkIPv6(g: number[]): string | null {
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (g.every((x) => x === 0)) return 'the unspecified IPv6 address (::)';
  if (zeroUpTo(7) && g[7] === 1) return 'the IPv6 loopback address (::1)';
  if (zeroUpTo(5) && g[5] === 0xffff) return `an IPv4-mapped IPv6 address (of ${formatIPv4(embedded4(g, 6))})`;
  if (zeroUpTo(6)) return `an IPv4-compatible IPv6 address (of ${formatIPv4(embedded4(g, 6))})`;
  if (zeroUpTo(4) && g[4] === 0xffff && g[5] === 0) return `an IPv4-translated IPv6 address (of ${formatIPv4(embedded4(g, 6))})`;
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    // NAT64 (RFC 6052): fine for a public IPv4, refused for anything the IPv4 rules refuse.
    const inner = checkIPv4(embedded4(g, 6));
    return inner ? `a NAT64 address of ${inner}` : null;
  }
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'a local-use NAT64 address (64:ff9b:1::/48)';
  if (g[0] === 0x100 && g.slice(1, 4).every((x) => x === 0)) return 'a discard-only address (100::/64)';
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && (g[7] === 0x254 || g[7] === 0x23)) {
    return 'the cloud instance metadata address (fd00:ec2::254)';
  }
  if ((g[0]! & 0xfe00) === 0xfc00) return 'a unique local IPv6 address (fc00::/7)';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'a link-local IPv6 address (fe80::/10)';
  if ((g[0]! & 0xffc0) === 0xfec0) return 'a site-local IPv6 address (fec0::/10)';
  if ((g[0]! & 0xff00) === 0xff00) return 'a multicast IPv6 address (ff00::/8)';
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'a documentation IPv6 address (2001:db8::/32)';
  if (g[0] === 0x2001 && g[1] === 0) return 'a Teredo tunnel address (2001::/32)';
  if (g[0] === 0x2001 && g[1]! < 0x200) return 'an IETF special-purpose IPv6 address (2001::/23)';
  if (g[0] === 0x2002) {
    // 6to4: the IPv4 address sits in groups 1-2.
    const inner = checkIPv4(embedded4(g, 1));
    return inner ? `a 6to4 address of ${inner}` : null;
  }
  if (g[0] === 0x3fff && (g[1]! & 0xf000) === 0) return 'a documentation IPv6 address (3fff::/20)';
  if ((g[0]! & 0xe000) !== 0x2000) return 'a reserved IPv6 address (outside 2000::/3)';
  return null;
}

// ---------------------------------------------------------------------------------------------
// Addresses and host names

/** Why CallVault refuses to connect to `ip` (IPv4 in any WHATWG notation, or IPv6 with or without brackets); null if it may. */
export function checkAddress(ip: string): string | null {
  const v4 = parseIPv4(ip);
  if (v4 !== null) {
    const why = checkIPv4(v4);
    return why ? `${formatIPv4(v4)} is ${why}` : null;
  }
  const v6 = parseIPv6(ip);
  if (v6 !== null) {
    const why = checkIPv6(v6);
    return why ? `${ip.replace(/^\[|\]$/g, '')} is ${why}` : null;
  }
  return `"${ip}" is not an IP address`;
}

/** True for text that is an IP literal (any IPv4 notation, or IPv6 with or without brackets). */
export const isIpLiteral = (host: string): boolean => parseIPv4(host) !== null || parseIPv6(host) !== null;

/** Names that resolve to this machine or the local network whatever DNS says. */
const INTERNAL_SUFFIXES = [
  'localhost',
  'local',
  'localdomain',
  'internal',
  'home.arpa',
  'in-addr.arpa',
  'ip6.arpa',
  'intranet',
  'corp',
  'lan',
];

/** Why a host name (not an IP literal) is refused before any DNS lookup; null if it may be looked up. */
export function checkHostName(hostname: string): string | null {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (!name) return 'the URL has no host';
  if (name.length > 253) return 'the host name is longer than 253 characters';
  const suffix = INTERNAL_SUFFIXES.find((s) => name === s || name.endsWith(`.${s}`));
  if (suffix) return `"${name}" is an internal host name (.${suffix})`;
  if (!name.includes('.')) return `"${name}" is a single-label host name, resolved through the local network's search domains`;
  return null;
}

/** The `host:port` pair of a URL as CALLVAULT_FETCH_ALLOW lists it (default port filled in, IPv6 in brackets, lower case). */
export function hostPortOf(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
  return `${url.hostname}:${port}`.toLowerCase();
}

/** The same pair from a connector's (hostname, port); IPv6 gets its brackets back. */
export function hostPortPair(hostname: string, port: number | string): string {
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  return `${host}:${port}`.toLowerCase();
}

/** True when `hostname` matches an allowlist entry (`media.example.com` exactly, `*.example.com` any subdomain of it). */
export function hostAllowed(hostname: string, allowlist: readonly string[]): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return allowlist.some((entry) => {
    const e = entry.trim().toLowerCase().replace(/\.$/, '');
    if (e.startsWith('*.')) return name.endsWith(e.slice(1)) && name.length > e.length - 1;
    return name === e;
  });
}

/** True when the URL's `host:port` is exempt from the address rules under `policy`. */
export function isExempt(url: URL, policy: SafeFetchPolicy): boolean {
  const pair = hostPortOf(url);
  return (policy.exemptHostPorts ?? []).some((p) => p.trim().toLowerCase() === pair);
}

/**
 * Why `url` may not be fetched under `policy`, or null when it may (its addresses are still checked at
 * connect time). Checks, in order: length, syntax, scheme, credentials, host allowlist, then the host
 * itself (IP literal against the address rules, name against the internal-name rules) unless the
 * `host:port` pair is exempt.
 */
export function checkUrl(url: string | URL, policy: SafeFetchPolicy): string | null {
  const text = typeof url === 'string' ? url : url.href;
  if (text.length > MAX_URL_LENGTH) return `the URL is longer than ${MAX_URL_LENGTH} characters`;
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return 'not a valid URL';
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && policy.allowHttp)) {
    return `the ${u.protocol.replace(/:$/, '')}: scheme is not allowed (${policy.allowHttp ? 'http and https' : 'https'} only)`;
  }
  if (u.username || u.password) return 'the URL carries credentials (user:password@host); CallVault never sends credentials';
  const hostname = u.hostname;
  if (!hostname) return 'the URL has no host';
  if (policy.hostAllowlist?.length && !hostAllowed(hostname, policy.hostAllowlist)) {
    return `host "${hostname}" is not in this source's mediaHostAllowlist`;
  }
  if (isExempt(u, policy)) return null;
  // After WHATWG parsing an IPv4 host is always dotted-decimal and an IPv6 host is in brackets.
  if (hostname.startsWith('[') || parseIPv4(hostname) !== null) return checkAddress(hostname);
  return checkHostName(hostname);
}
