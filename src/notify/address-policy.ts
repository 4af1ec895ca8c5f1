import { isIP } from 'node:net';

/**
 * Which IP addresses a webhook may reach. Everything that is not plainly on the public
 * internet is refused: an address that resolves (or is rebound) to the loopback, the LAN or
 * the cloud metadata service would let a customer's URL probe our own network.
 */
export type AddressCategory =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared-cgnat'
  | 'link-local'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'unique-local'
  | 'site-local'
  | 'teredo'
  | 'invalid';

interface Range {
  readonly base: bigint;
  readonly bits: number;
  readonly category: AddressCategory;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

/** 128-bit value of an IPv6 address, including the dotted-quad tail form (`::ffff:1.2.3.4`). */
function parseIpv6(text: string): bigint | undefined {
  let address = text.split('%')[0] ?? '';
  const lastColon = address.lastIndexOf(':');
  const tail = address.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpv4(tail);
    if (v4 === undefined) return undefined;
    address = `${address.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

const v4 = (cidr: string, category: AddressCategory): Range => {
  const [ip = '', bits = '32'] = cidr.split('/');
  return { base: parseIpv4(ip) ?? 0n, bits: Number(bits), category };
};
const v6 = (cidr: string, category: AddressCategory): Range => {
  const [ip = '', bits = '128'] = cidr.split('/');
  return { base: parseIpv6(ip) ?? 0n, bits: Number(bits), category };
};

// Most specific first: 169.254.169.254 (metadata) is refused as link-local, 100.100.100.200
// (another cloud's metadata) as shared address space, fd00:ec2::254 as unique-local.
const IPV4_RANGES: readonly Range[] = [
  v4('255.255.255.255/32', 'broadcast'),
  v4('0.0.0.0/8', 'unspecified'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'shared-cgnat'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'),
  v4('192.0.2.0/24', 'documentation'),
  v4('192.88.99.0/24', 'reserved'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
];

const IPV6_RANGES: readonly Range[] = [
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  v6('100::/64', 'reserved'),
  v6('2001::/32', 'teredo'),
  v6('2001:db8::/32', 'documentation'),
  v6('fc00::/7', 'unique-local'),
  v6('fe80::/10', 'link-local'),
  v6('fec0::/10', 'site-local'),
  v6('ff00::/8', 'multicast'),
];

/** IPv6 forms that carry an IPv4 address the packet really goes to; that address decides. */
const EMBEDDED_V4: readonly { range: Range; shift: bigint }[] = [
  { range: v6('::ffff:0:0/96', 'reserved'), shift: 0n }, // IPv4-mapped
  { range: v6('::/96', 'reserved'), shift: 0n }, // IPv4-compatible (deprecated)
  { range: v6('64:ff9b::/96', 'reserved'), shift: 0n }, // NAT64 well-known prefix
  { range: v6('64:ff9b:1::/48', 'reserved'), shift: 0n }, // NAT64 local-use prefix
  { range: v6('2002::/16', 'reserved'), shift: 80n }, // 6to4
];

const inRange = (value: bigint, range: Range, width: number): boolean => {
  const shift = BigInt(width - range.bits);
  return value >> shift === range.base >> shift;
};

function classifyV4(value: bigint): AddressCategory {
  return IPV4_RANGES.find((r) => inRange(value, r, 32))?.category ?? 'public';
}

/** The category of an IP address (either family, any textual form `net` accepts). */
export function classifyAddress(address: string): AddressCategory {
  const family = isIP(address.split('%')[0] ?? '');
  if (family === 4) return classifyV4(parseIpv4(address) ?? 0n);
  if (family !== 6) return 'invalid';
  const value = parseIpv6(address);
  if (value === undefined) return 'invalid';
  for (const { range, shift } of EMBEDDED_V4) {
    // The unspecified and loopback addresses sit inside ::/96 but are not IPv4 forms.
    if (value <= 1n) break;
    if (inRange(value, range, 128)) return classifyV4((value >> shift) & 0xffffffffn);
  }
  return IPV6_RANGES.find((r) => inRange(value, r, 128))?.category ?? 'public';
}

export const isPublicAddress = (address: string): boolean => classifyAddress(address) === 'public';
