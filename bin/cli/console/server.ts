/**
 * The console's HTTP server. It holds the user's AWS credentials, so it listens on 127.0.0.1 only and
 * answers only requests addressed to it by that name (a Host check against DNS rebinding) and not sent
 * from another site's page (Sec-Fetch-Site, CORP): a web page must not be able to read the archive
 * through it. Read-only: GET and HEAD only, so a forged form post has nothing to change.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { toE164 } from '#core/phone.ts';
import { PROVIDERS, type CallRecord, type CallStatus, type Provider } from '#core/types.ts';
import { BadCursor, RangeNotSatisfiable, type CallFilter, type ConsoleArchive } from './reader.ts';
import {
  PLAYABLE,
  STATUSES,
  STYLESHEET,
  callPage,
  callPath,
  deliveryPage,
  errorPage,
  listPage,
  refusedPage,
  type Playable,
} from './views.ts';
import { isDeliveryKey } from '#bin/cli/deliveries-reader.ts';

export interface ConsoleServerOptions {
  reader: ConsoleArchive;
  /** Source ids offered in the source filter. */
  sources: string[];
  /** ISO 3166-1 alpha-2 country for reading national-format numbers typed into the filter. */
  defaultCountry: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Where request failures are reported (never bodies, numbers or credentials). */
  log?: (line: string) => void;
}

export interface ConsoleServer {
  /** `http://127.0.0.1:N/` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The only address the console listens on. */
export const CONSOLE_HOST = '127.0.0.1';

const SECURITY_HEADERS = {
  // No script at all; media, styles and form posts only from the console itself.
  'content-security-policy':
    "default-src 'none'; style-src 'self'; media-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startConsoleServer(o: ConsoleServerOptions): Promise<ConsoleServer> {
  const log = o.log ?? ((line: string) => console.error(line));
  let allowedHosts = new Set<string>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const problem = err instanceof HttpProblem ? err : undefined;
      if (!problem)
        log(`console: ${req.method} ${(req.url ?? '').split('?')[0]} failed: ${(err as Error).name}: ${(err as Error).message}`);
      if (res.headersSent) return void res.destroy();
      const status = problem?.status ?? 502;
      const message =
        problem?.message ??
        `Could not read the archive (${(err as Error).name}). Check that your AWS credentials are valid and allow reading the calls table and the archive bucket (or, with --local, that "npm start" is still running), then reload.`;
      send(res, status, 'text/html; charset=utf-8', errorPage(status, message), req.method === 'HEAD');
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowedHosts.has((req.headers.host ?? '').toLowerCase()))
      throw new HttpProblem(421, `This console answers only at ${[...allowedHosts][0]}: open it by that address.`);
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site')
      throw new HttpProblem(403, 'Requests from other sites are refused: open the console directly in the browser.');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      throw new HttpProblem(405, 'The console only reads: use GET.');
    }
    const url = new URL(req.url ?? '/', `http://${CONSOLE_HOST}`);
    const head = req.method === 'HEAD';
    // Browsers ask for it on every page; there is none, and a 404 would look like a fault in their console.
    if (url.pathname === '/favicon.ico') return void res.writeHead(204, SECURITY_HEADERS).end();
    if (url.pathname === '/console.css') return send(res, 200, 'text/css; charset=utf-8', STYLESHEET, head);
    if (url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', await listView(url.searchParams), head);
    if (url.pathname === '/find') return find(res, url.searchParams, head);
    if (url.pathname === '/deliveries') return send(res, 200, 'text/html; charset=utf-8', await refusedView(url.searchParams), head);
    if (url.pathname === '/deliveries/show')
      return send(res, 200, 'text/html; charset=utf-8', await refusedDelivery(url.searchParams), head);
    const parts = url.pathname.split('/');
    if (parts[1] === 'calls' && parts.length >= 4 && parts.length <= 6) {
      const call = await callOf(parts[2]!, parts[3]!);
      if (parts.length === 4) return send(res, 200, 'text/html; charset=utf-8', await callView(call), head);
      if (parts.length === 5 && (PLAYABLE as readonly string[]).includes(parts[4]!))
        return media(req, res, call, parts[4] as Playable, url.searchParams.has('download'));
      if (parts.length === 6 && parts[4] === 'deliveries')
        return send(res, 200, 'text/html; charset=utf-8', await callDelivery(call, parts[5]!), head);
    }
    throw new HttpProblem(404, 'There is no such page in the console.');
  }

  async function listView(q: URLSearchParams): Promise<string> {
    const typed = (q.get('number') ?? '').trim();
    const day = (q.get('day') ?? '').trim();
    const source = (q.get('source') ?? '').trim();
    const status = (q.get('status') ?? '').trim();
    const filter: CallFilter = {};
    const base = { numberAsTyped: typed, filter, sources: o.sources };
    if (day && !/^\d{4}-\d{2}-\d{2}$/.test(day)) return listPage({ ...base, problem: `The day must look like 2026-04-02, not "${day}".` });
    if (status && !(STATUSES as readonly string[]).includes(status))
      return listPage({ ...base, problem: `The status must be one of ${STATUSES.join(', ')}.` });
    if (typed && typed.length > 64) return listPage({ ...base, problem: 'That number is too long: type a phone number.' });
    if (typed) filter.number = toE164(typed, o.defaultCountry) ?? typed;
    if (day) filter.day = day;
    if (source) filter.source = source;
    if (status) filter.status = status as CallStatus;
    const after = q.get('after') ?? undefined;
    try {
      return listPage({ ...base, list: await o.reader.listCalls(filter, after), ...(after ? { after } : {}) });
    } catch (err) {
      if (err instanceof BadCursor) return listPage({ ...base, problem: err.message });
      throw err;
    }
  }

  /** `/find?call=PROVIDER#ID` or a bare id: to the call's page when there is one call with that id. */
  async function find(res: ServerResponse, q: URLSearchParams, head: boolean): Promise<void> {
    const typed = (q.get('call') ?? '').trim();
    const base = { filter: {}, sources: o.sources, callAsTyped: typed };
    const problem = (message: string) => send(res, 200, 'text/html; charset=utf-8', listPage({ ...base, problem: message }), head);
    if (!typed || typed.length > 1024) return problem('Type a call id, as the provider sent it or as PROVIDER#ID.');
    const hash = typed.indexOf('#');
    const named = hash > 0 && (PROVIDERS as readonly string[]).includes(typed.slice(0, hash));
    const candidates: [Provider, string][] = named
      ? [[typed.slice(0, hash) as Provider, typed.slice(hash + 1)]]
      : PROVIDERS.map((p): [Provider, string] => [p, typed]);
    const found = (await Promise.all(candidates.map(([p, id]) => o.reader.getCall(p, id)))).filter((c): c is CallRecord => !!c);
    if (found.length === 1) {
      res.writeHead(303, { ...SECURITY_HEADERS, location: callPath(found[0]!) }).end();
      return;
    }
    if (!found.length) return problem(`The archive has no call with the id "${typed}".`);
    return problem(`Several providers have a call "${typed}": ${found.map((c) => c.callKey).join(', ')}. Type it as PROVIDER#ID.`);
  }

  async function refusedView(q: URLSearchParams): Promise<string> {
    const today = new Date().toISOString().slice(0, 10);
    const until = (q.get('until') ?? '').trim() || today;
    const since = (q.get('since') ?? '').trim() || new Date(Date.parse(`${until}T00:00:00Z`) - 6 * 86_400_000).toISOString().slice(0, 10);
    const day = /^\d{4}-\d{2}-\d{2}$/;
    if (!day.test(since) || !day.test(until) || Number.isNaN(Date.parse(since)) || Number.isNaN(Date.parse(until)))
      return refusedPage({ since, until, list: [], truncated: false, problem: 'The days must look like 2026-04-02.' });
    if (since > until || Date.parse(until) - Date.parse(since) > 92 * 86_400_000)
      return refusedPage({
        since,
        until,
        list: [],
        truncated: false,
        problem: 'Pick a window of at most 92 days, the first day before the last.',
      });
    const { deliveries, truncated } = await o.reader.refused({ since, until, limit: 200 });
    return refusedPage({ since, until, list: deliveries, truncated });
  }

  async function refusedDelivery(q: URLSearchParams): Promise<string> {
    const key = q.get('key') ?? '';
    if (!key.startsWith('quarantine/') || !isDeliveryKey(key))
      throw new HttpProblem(404, 'That is not a refused delivery: open one from the list.');
    const d = await o.reader.delivery(key);
    if (!d) throw new HttpProblem(404, 'There is no such refused delivery (any more).');
    return deliveryPage(d, { href: '/deliveries', label: 'Back to the refused deliveries' });
  }

  /** One of the call's own deliveries, by its raw/ object's name: only a key the call's history lists is read. */
  async function callDelivery(call: CallRecord, rawName: string): Promise<string> {
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      throw new HttpProblem(404, 'That delivery address is not well-formed: open it from the call page.');
    }
    const entry = (await o.reader.deliveries(call)).find((d) => d.key.split('/').pop() === name);
    const d = entry && (await o.reader.delivery(entry.key));
    if (!d) throw new HttpProblem(404, 'This call has no such delivery: open one from its delivery history.');
    return deliveryPage(d, { href: callPath(call), label: `Back to ${call.callKey}` });
  }

  async function callOf(rawProvider: string, rawId: string): Promise<CallRecord> {
    let provider: string;
    let callId: string;
    try {
      provider = decodeURIComponent(rawProvider);
      callId = decodeURIComponent(rawId);
    } catch {
      throw new HttpProblem(404, 'That call address is not well-formed: open the call from the list.');
    }
    if (!(PROVIDERS as readonly string[]).includes(provider))
      throw new HttpProblem(404, `There is no provider "${provider}": it is one of ${PROVIDERS.join(', ')}.`);
    if (!callId || callId.length > 1024)
      throw new HttpProblem(404, 'That call id is not one the archive can hold: open the call from the list.');
    const call = await o.reader.getCall(provider as Provider, callId);
    if (!call) throw new HttpProblem(404, `The archive has no ${provider} call "${callId}".`);
    return call;
  }

  async function callView(call: CallRecord): Promise<string> {
    const pointer = (v: unknown) =>
      v && typeof v === 'object' && (v as { oversized?: unknown }).oversized === true ? (v as { s3Key: string }).s3Key : undefined;
    const extras = (v: unknown): Promise<unknown> => {
      const key = pointer(v);
      return key ? o.reader.json(key) : Promise.resolve(v);
    };
    const [transcript, analysis, caller, card, deliveries, contact] = await Promise.all([
      call.transcript?.state === 'stored' && call.transcript.s3Key ? o.reader.json(call.transcript.s3Key) : undefined,
      extras(call.analysis),
      extras(call.caller),
      o.reader.sentCard(call),
      o.reader.deliveries(call),
      o.reader.contactName(call.customerNumber),
    ]);
    return callPage({ call, transcript, analysis, caller, card, deliveries, ...(contact ? { contact } : {}) });
  }

  async function media(req: IncomingMessage, res: ServerResponse, call: CallRecord, kind: Playable, download: boolean): Promise<void> {
    const info = call[kind];
    if (info?.state !== 'stored' || !info.s3Key) throw new HttpProblem(404, `This call has no stored ${kind}.`);
    const range = singleRange(req.headers.range);
    let object;
    try {
      object = await o.reader.media(info, range);
    } catch (err) {
      if (!(err instanceof RangeNotSatisfiable)) throw err;
      res.writeHead(416, { ...SECURITY_HEADERS, 'content-range': `bytes */${info.bytes ?? '*'}` }).end();
      return;
    }
    const ext = info.s3Key.split('.').pop() ?? 'bin';
    const name = `${call.provider}-${call.callId}-${kind}.${ext}`.replace(/[^A-Za-z0-9._-]/g, '_');
    res.writeHead(object.contentRange ? 206 : 200, {
      ...SECURITY_HEADERS,
      'content-type': object.contentType,
      'accept-ranges': 'bytes',
      'content-disposition': `${download ? 'attachment' : 'inline'}; filename="${name}"`,
      ...(object.contentLength !== undefined ? { 'content-length': String(object.contentLength) } : {}),
      ...(object.contentRange ? { 'content-range': object.contentRange } : {}),
    });
    if (req.method === 'HEAD') {
      object.body.destroy();
      return void res.end();
    }
    // A player drops a request when it seeks: that ends the stream early, which is not a failure.
    await pipeline(object.body, res).catch(() => res.destroy());
  }

  await new Promise<void>((ok, fail) => server.once('error', fail).listen(o.port ?? 0, CONSOLE_HOST, () => ok()));
  const { port } = server.address() as AddressInfo;
  allowedHosts = new Set([`${CONSOLE_HOST}:${port}`, `localhost:${port}`]);
  return {
    url: `http://${CONSOLE_HOST}:${port}/`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(bytes.length) });
  res.end(head ? undefined : bytes);
}

/** One `bytes=a-b` / `bytes=a-` / `bytes=-n` range, passed to S3 as is; anything else is served whole (RFC 9110 allows ignoring Range). */
export function singleRange(header: string | undefined): string | undefined {
  return header && /^bytes=(\d{1,15}-\d{0,15}|-\d{1,15})$/.test(header.trim()) ? header.trim() : undefined;
}
