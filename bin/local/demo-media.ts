/**
 * The local stack's demo media server: recordings of real speech (mp3, ogg, wav: bin/local/demo-audio/,
 * made by its generate.sh with espeak-ng, sox and lame) and transcript JSON by path, so the seeds' flows
 * store a file a browser plays. The same path always serves the same bytes (`demoMediaBytes`), so a tool
 * can check the SHA-256 the worker recorded against the source.
 *
 *   GET /{anything}/{name}.mp3|.ogg|.wav   the recording (7 s of speech)
 *   GET ...?kb=N                           exactly N KiB (at most 64 MiB), for size tests: a WAV loops the
 *                                          speech (always playable); mp3 and ogg are the recording cut or
 *                                          padded with zero bytes (players stop at the end of the audio)
 *   GET /{anything}/{name}.m4a             N KiB (default 256) of noise behind an MP4 header: a size, not audio
 *   GET /{anything}/{name}.json            a transcript
 *
 * It listens on 127.0.0.1 (a private address): bin/local.ts adds its `host:port` to CALLVAULT_FETCH_ALLOW,
 * the only way local mode lets the worker fetch from it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoMedia {
  /** e.g. http://127.0.0.1:43121 */
  url: string;
  /** e.g. 127.0.0.1:43121, for CALLVAULT_FETCH_ALLOW */
  hostPort: string;
  close(): Promise<void>;
}

const AUDIO: Record<string, string> = { mp3: 'audio/mpeg', ogg: 'audio/ogg', wav: 'audio/wav', m4a: 'audio/mp4' };
const DEFAULT_KB = 256;
const MAX_KB = 64 * 1024;

/** Bytes of a pseudo-random stream seeded by `seed` (SHA-256 in counter mode: fast enough, fully deterministic). */
function noise(seed: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let off = 0;
  for (let i = 0; off < size; i++) off += createHash('sha256').update(`${seed}#${i}`).digest().copy(out, off);
  return out;
}

/** The committed recordings, read once. */
const speech = (ext: 'wav' | 'ogg' | 'mp3') => readFileSync(new URL(`./demo-audio/speech.${ext}`, import.meta.url));
let recordings: { pcm: Buffer; ogg: Buffer; mp3: Buffer } | undefined;
function recorded() {
  if (!recordings) {
    const wav = speech('wav');
    // The PCM samples of the 8 kHz mono 16-bit WAV: its "data" chunk.
    let at = 12;
    while (at + 8 <= wav.length && wav.toString('latin1', at, at + 4) !== 'data') at += 8 + wav.readUInt32LE(at + 4);
    recordings = { pcm: wav.subarray(at + 8, at + 8 + wav.readUInt32LE(at + 4)), ogg: speech('ogg'), mp3: speech('mp3') };
  }
  return recordings;
}

/** An 8 kHz mono 16-bit WAV of the recorded speech, looped to `size` bytes (the whole recording when undefined). */
function wav(size: number | undefined): Buffer {
  const { pcm } = recorded();
  const dataBytes = size === undefined ? pcm.length : Math.max(0, size - 44) & ~1;
  const b = Buffer.alloc(44 + dataBytes);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + dataBytes, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(dataBytes, 40);
  for (let off = 0; off < dataBytes; off += pcm.length) pcm.copy(b, 44 + off, 0, Math.min(pcm.length, dataBytes - off));
  return b;
}

/** A compressed recording as it is, or cut or padded with zero bytes to exactly `size`. */
function sized(file: Buffer, size: number | undefined): Buffer {
  if (size === undefined) return file;
  const b = Buffer.alloc(size);
  file.copy(b, 0, 0, Math.min(file.length, size));
  return b;
}

function transcript(path: string): Buffer {
  const name = path
    .split('/')
    .pop()!
    .replace(/\.json$/, '')
    .replace(/^transcript_/, '');
  return Buffer.from(
    JSON.stringify(
      {
        callId: name,
        language: 'en',
        turns: [
          { speaker: 'agent', start: 0.4, text: 'Thank you for calling, how can I help?' },
          { speaker: 'caller', start: 2.9, text: 'I would like to schedule a product demo.' },
          { speaker: 'agent', start: 5.7, text: 'Of course. Does Tuesday at ten work for you?' },
          { speaker: 'caller', start: 8.2, text: 'Tuesday at ten is perfect, thanks.' },
        ],
      },
      null,
      2,
    ) + '\n',
  );
}

/** The exact bytes and content type the demo server answers for `pathAndQuery` (undefined: 404). */
export function demoMediaBytes(pathAndQuery: string): { body: Buffer; contentType: string } | undefined {
  const url = new URL(pathAndQuery, 'http://demo.local');
  const path = url.pathname;
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  if (ext === 'json') return { body: transcript(path), contentType: 'application/json; charset=utf-8' };
  if (!ext || !AUDIO[ext]) return undefined;
  const kb = url.searchParams.get('kb');
  const size = kb === null ? undefined : Math.min(MAX_KB, Math.max(1, Number(kb) || DEFAULT_KB)) * 1024;
  if (ext === 'wav') return { body: wav(size), contentType: AUDIO.wav! };
  if (ext === 'mp3') return { body: sized(recorded().mp3, size), contentType: AUDIO.mp3! };
  if (ext === 'ogg') return { body: sized(recorded().ogg, size), contentType: AUDIO.ogg! };
  // No encoder for AAC here: an m4a is a size to store, noise behind a recognisable header.
  const body = noise(path, size ?? DEFAULT_KB * 1024);
  Buffer.from('\x00\x00\x00\x18ftypM4A ', 'latin1').copy(body, 0);
  return { body, contentType: AUDIO[ext] };
}

/** Start the demo media server (port 0 picks a free one). */
export async function startDemoMedia(opts: { port?: number; host?: string } = {}): Promise<DemoMedia> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const file = req.method === 'GET' || req.method === 'HEAD' ? demoMediaBytes(req.url ?? '/') : undefined;
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /demo/recording.mp3, .ogg, .wav or /demo/transcript.json\n');
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.body.length), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(opts.port ?? 0, host, () => ok()));
  const { port } = server.address() as AddressInfo;
  const hostPort = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: `http://${hostPort}`,
    hostPort,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
