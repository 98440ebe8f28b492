/**
 * A matcher for a list of IPs and CIDRs (`listen.trustedProxies`, `cluster.peers`); IPv4-mapped
 * IPv6 addresses match IPv4 entries. An empty list matches nothing.
 */
import { BlockList, isIP } from 'node:net';

export function createAddressMatch(entries: readonly string[]): (address: string | undefined) => boolean {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    if (!address) return false;
    const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
    return isIP(v4) === 4 ? list.check(v4, 'ipv4') : list.check(address, 'ipv6');
  };
}
