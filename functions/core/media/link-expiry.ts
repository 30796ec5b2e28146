/** When a pre-signed media link stops working, read from the link itself. */

/**
 * When a pre-signed link stops working, if the URL says: SigV4 (`X-Amz-Date` + `X-Amz-Expires`),
 * Google (`X-Goog-Date` + `X-Goog-Expires`) or SigV2/CloudFront (`Expires`, epoch seconds). Epoch ms.
 */
export function linkExpiresAt(url: string | URL): number | undefined {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return undefined;
  }
  const q = new Map([...u.searchParams].map(([k, v]) => [k.toLowerCase(), v]));
  for (const prefix of ['x-amz-', 'x-goog-']) {
    const date = q.get(`${prefix}date`);
    const expires = q.get(`${prefix}expires`);
    if (date && expires && /^\d{8}T\d{6}Z$/.test(date) && /^\d+$/.test(expires)) {
      const start = Date.UTC(
        +date.slice(0, 4),
        +date.slice(4, 6) - 1,
        +date.slice(6, 8),
        +date.slice(9, 11),
        +date.slice(11, 13),
        +date.slice(13, 15),
      );
      return start + Number(expires) * 1000;
    }
  }
  const epoch = q.get('expires');
  if (epoch && /^\d{9,11}$/.test(epoch)) return Number(epoch) * 1000;
  return undefined;
}
