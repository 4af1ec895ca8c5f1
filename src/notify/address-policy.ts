import { isIP } from 'node:net';

import ipaddr from 'ipaddr.js';

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

type Family = 'ipv4' | 'ipv6';

interface Range {
  readonly cidr: [ipaddr.IPv4 | ipaddr.IPv6, number];
  readonly category: AddressCategory;
}

const range = (cidr: string, category: AddressCategory): Range => ({ cidr: ipaddr.parseCIDR(cidr), category });

// Most specific first: 169.254.169.254 (metadata) is refused as link-local, 100.100.100.200
// (another cloud's metadata) as shared address space, fd00:ec2::254 as unique-local.
const RANGES: Record<Family, readonly Range[]> = {
  ipv4: [
    range('255.255.255.255/32', 'broadcast'),
    range('0.0.0.0/8', 'unspecified'),
    range('10.0.0.0/8', 'private'),
    range('100.64.0.0/10', 'shared-cgnat'),
    range('127.0.0.0/8', 'loopback'),
    range('169.254.0.0/16', 'link-local'),
    range('172.16.0.0/12', 'private'),
    range('192.0.0.0/24', 'reserved'),
    range('192.0.2.0/24', 'documentation'),
    range('192.88.99.0/24', 'reserved'),
    range('192.168.0.0/16', 'private'),
    range('198.18.0.0/15', 'benchmarking'),
    range('198.51.100.0/24', 'documentation'),
    range('203.0.113.0/24', 'documentation'),
    range('224.0.0.0/4', 'multicast'),
    range('240.0.0.0/4', 'reserved'),
  ],
  ipv6: [
    range('::/128', 'unspecified'),
    range('::1/128', 'loopback'),
    range('100::/64', 'reserved'),
    range('2001::/32', 'teredo'),
    range('2001:db8::/32', 'documentation'),
    range('fc00::/7', 'unique-local'),
    range('fe80::/10', 'link-local'),
    range('fec0::/10', 'site-local'),
    range('ff00::/8', 'multicast'),
  ],
};

/**
 * IPv6 forms that carry an IPv4 address the packet really goes to; that address decides.
 * `offset` is the byte where the IPv4 address starts.
 */
const EMBEDDED_V4: readonly { cidr: [ipaddr.IPv6, number]; offset: number }[] = [
  { cidr: ipaddr.IPv6.parseCIDR('::ffff:0:0/96'), offset: 12 }, // IPv4-mapped
  { cidr: ipaddr.IPv6.parseCIDR('::/96'), offset: 12 }, // IPv4-compatible (deprecated)
  { cidr: ipaddr.IPv6.parseCIDR('64:ff9b::/96'), offset: 12 }, // NAT64 well-known prefix
  { cidr: ipaddr.IPv6.parseCIDR('64:ff9b:1::/48'), offset: 12 }, // NAT64 local-use prefix
  { cidr: ipaddr.IPv6.parseCIDR('2002::/16'), offset: 2 }, // 6to4
];

const UNSPECIFIED_OR_LOOPBACK = [ipaddr.IPv6.parse('::'), ipaddr.IPv6.parse('::1')];

function classifyParsed(address: ipaddr.IPv4 | ipaddr.IPv6): AddressCategory {
  if (address.kind() === 'ipv6') {
    const v6 = address as ipaddr.IPv6;
    // The unspecified and loopback addresses sit inside ::/96 but are not IPv4 forms.
    if (!UNSPECIFIED_OR_LOOPBACK.some((a) => a.toNormalizedString() === v6.toNormalizedString())) {
      const embedded = EMBEDDED_V4.find(({ cidr }) => v6.match(cidr));
      if (embedded) return classifyParsed(new ipaddr.IPv4(v6.toByteArray().slice(embedded.offset, embedded.offset + 4)));
    }
  }
  return RANGES[address.kind()].find((r) => address.kind() === r.cidr[0].kind() && address.match(r.cidr))?.category ?? 'public';
}

/** The category of an IP address (either family, any textual form `net` accepts). */
export function classifyAddress(address: string): AddressCategory {
  const bare = address.split('%')[0] ?? '';
  // ipaddr.js also takes forms no socket would use (`0x7f.1`, `127.1`); `net` decides what is an address.
  if (!isIP(bare)) return 'invalid';
  return classifyParsed(ipaddr.parse(bare));
}
