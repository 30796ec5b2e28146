/** URLs as logs may show them: pre-signed links carry signatures, and some carry credentials. */

/** A URL as logs may show it: host and path, never the query (pre-signed signatures) or credentials. */
export function urlForLog(url: string | URL | undefined): string {
  if (!url) return '';
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    const path = u.pathname.length > 120 ? `${u.pathname.slice(0, 117)}...` : u.pathname;
    return `${u.host}${path}`;
  } catch {
    return '(invalid URL)';
  }
}
