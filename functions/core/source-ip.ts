/** Source-address allowlists (IPv4 addresses and CIDRs) for webhook sources. */

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** True when `ip` is inside one of the allowed addresses or CIDRs. */
export function ipAllowed(ip: string, allowed: readonly string[]): boolean {
  const value = ipv4ToInt(ip.replace(/^::ffff:/i, ''));
  if (value === undefined) return false;
  return allowed.some((entry) => {
    const [base, bitsText] = entry.split('/');
    const baseValue = ipv4ToInt(base ?? '');
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    if (baseValue === undefined || !(bits >= 0 && bits <= 32)) return false;
    const size = 2 ** (32 - bits);
    return Math.floor(value / size) === Math.floor(baseValue / size);
  });
}
