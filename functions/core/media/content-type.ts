/**
 * What a stored recording or transcript is called and stored as: its extension from the content type the
 * media host sent, else from the URL path; its content type from the host, else from the extension.
 */
import type { MediaKind } from '#core/types.ts';

const EXT_BY_TYPE: Record<string, string> = {
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mpeg3': 'mp3',
  'audio/x-mpeg-3': 'mp3',
  'audio/x-mp3': 'mp3',
  'audio/ogg': 'ogg',
  'audio/vorbis': 'ogg',
  'application/ogg': 'ogg',
  'audio/opus': 'opus',
  'audio/wav': 'wav',
  'audio/wave': 'wav',
  'audio/x-wav': 'wav',
  'audio/vnd.wave': 'wav',
  'audio/x-pn-wav': 'wav',
  'audio/mp4': 'm4a',
  'audio/m4a': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/aac': 'aac',
  'audio/x-aac': 'aac',
  'audio/webm': 'webm',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'audio/amr': 'amr',
  'audio/3gpp': '3gp',
  'audio/gsm': 'gsm',
  'audio/basic': 'au',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'application/json': 'json',
  'text/json': 'json',
  'text/plain': 'txt',
  'text/vtt': 'vtt',
  'application/x-subrip': 'srt',
  'text/csv': 'csv',
};

/** The content type an extension is stored with when the server sent none (or only a generic one). */
const TYPE_BY_EXT: Record<string, string> = {
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/opus',
  wav: 'audio/wav',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  webm: 'audio/webm',
  flac: 'audio/flac',
  amr: 'audio/amr',
  '3gp': 'audio/3gpp',
  gsm: 'audio/gsm',
  au: 'audio/basic',
  mp4: 'video/mp4',
  json: 'application/json',
  txt: 'text/plain',
  vtt: 'text/vtt',
  srt: 'application/x-subrip',
  csv: 'text/csv',
  bin: 'application/octet-stream',
};

/** `type/subtype` in lower case without parameters, or undefined when the header is absent or malformed. */
export function normaliseContentType(header: string | undefined | null): string | undefined {
  const t = (header ?? '').split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(t) ? t : undefined;
}

/** The extension of the URL's last path segment, when it is one CallVault knows. */
export function extensionFromUrl(url: string | URL | undefined): string | undefined {
  if (!url) return undefined;
  let path: string;
  try {
    path = (typeof url === 'string' ? new URL(url) : url).pathname;
  } catch {
    return undefined;
  }
  const last = decodeURIComponentSafe(path.split('/').pop() ?? '');
  const m = /\.([a-z0-9]{1,5})$/i.exec(last);
  const ext = m?.[1]?.toLowerCase();
  return ext && ext in TYPE_BY_EXT && ext !== 'bin' ? ext : undefined;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The stored file's extension: from the content type, then the URL path (first the final URL after
 * redirects, then the one the provider sent), else `json` for a transcript and `bin` for audio.
 */
export function mediaExtension(contentType: string | undefined, urls: (string | URL | undefined)[], media: MediaKind): string {
  const type = normaliseContentType(contentType);
  const fromType = type ? EXT_BY_TYPE[type] : undefined;
  if (fromType) return fromType;
  for (const u of urls) {
    const fromUrl = extensionFromUrl(u);
    if (fromUrl) return fromUrl;
  }
  return media === 'transcript' ? 'json' : 'bin';
}

/** The content type to store: the server's, unless it sent none or a generic one, then the extension's. */
export function storedContentType(contentType: string | undefined, ext: string): string {
  const type = normaliseContentType(contentType);
  if (type && type !== 'application/octet-stream' && type !== 'binary/octet-stream') return type;
  return TYPE_BY_EXT[ext] ?? 'application/octet-stream';
}
