/**
 * A stand-in for the Hipcall API in local mode and tests, as a plain node:http request handler that
 * the local stack mounts under `/_local/hipcall/api/v3`. It behaves like the real API where CallVault
 * depends on it, and records everything so a person (GET `/_cards`) and a test can see what arrived.
 *
 *   POST /calls/{id}/cards   bearer token required (401); rows validated the real way: a field the row
 *                            type does not allow, even null, is a 422 naming it; 201 with the stored card
 *   GET  /_cards             [{callId, card, receivedAt}] every card accepted (?callId= filters)
 *   GET  /_requests          every card request, accepted or not: {callId, status, authorized, body, receivedAt}
 *   DELETE /_cards           forget cards and requests
 *   POST /_faults            {status?: 500, count?: 1, message?, delayMs?, drop?}: the next `count` card
 *                            requests answer `status` (or, with drop, lose the connection); DELETE clears
 *   GET  /calls/{id}         {data: {...}} for a call registered with POST /_calls {uuid, ...} or setCall()
 *                            (fresh `record_url` for the media worker), else 404
 *   GET  /calls              the registered calls, oldest first, as {data: [...], meta: {total, limit, offset}};
 *                            filters `started_at[gte]`, `started_at[lte]`; pages with `limit` (1-100) and `offset`
 *
 * The row rules are written out here, not imported from functions/core/card.ts, so a mistake there is
 * caught here as it would be by the real API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readRequestBody } from './http-api.ts';

/** Fields each Insight Card row type may carry besides `type` (Hipcall's documented rules). */
const ROW_FIELDS: Record<string, readonly string[]> = {
  title: ['text', 'link'],
  shortText: ['text', 'label', 'link', 'ios', 'android'],
  user: ['label', 'user_id'],
};

export interface ReceivedCard {
  callId: string;
  card: unknown[];
  /** ISO-8601 with milliseconds, when the request was answered. */
  receivedAt: string;
}

export interface CardRequest {
  callId: string;
  status: number;
  /** Whether a bearer token was presented (the token itself is not kept). */
  authorized: boolean;
  body: unknown;
  message?: string;
  receivedAt: string;
}

export interface Fault {
  status?: number;
  count?: number;
  message?: string;
  delayMs?: number;
  /** Destroy the connection instead of answering: a network error for the client. */
  drop?: boolean;
}

export interface HipcallMockOptions {
  /** The only bearer token accepted; any non-empty token when omitted. */
  token?: string;
  /** Prefix stripped from the request path when `handle` is not given the path (default `/_local/hipcall/api/v3`). */
  basePath?: string;
  /** Largest request body, in bytes. */
  maxBodyBytes?: number;
}

export interface HipcallMock {
  /**
   * Serve a request if its path is one of the stand-in's; false (nothing written) otherwise.
   * `path` is the path below the mount point; when omitted it is taken from the URL minus `basePath`.
   */
  handle(req: IncomingMessage, res: ServerResponse, path?: string): Promise<boolean>;
  cards(): ReceivedCard[];
  requests(): CardRequest[];
  /** Make the next card requests fail (see POST /_faults). */
  fail(fault: Fault): void;
  /** Register a call for GET /calls/{id}. */
  setCall(id: string, data: Record<string, unknown>): void;
  reset(): void;
}

/** Why the real API would refuse a card body, or undefined when it would accept it. */
export function cardBodyProblem(body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'body must be a JSON object {"card": [...]}';
  const card = (body as Record<string, unknown>).card;
  if (!Array.isArray(card)) return 'card must be an array of rows';
  for (const [i, row] of card.entries()) {
    if (!row || typeof row !== 'object' || Array.isArray(row)) return `card[${i}] must be an object`;
    const r = row as Record<string, unknown>;
    const type = r.type;
    if (typeof type !== 'string' || !Object.hasOwn(ROW_FIELDS, type))
      return `card[${i}].type must be one of ${Object.keys(ROW_FIELDS).join(', ')}`;
    const allowed = ROW_FIELDS[type]!;
    for (const key of Object.keys(r)) {
      if (key !== 'type' && !allowed.includes(key))
        return `card[${i}].${key} is not allowed on a ${type} row (allowed: ${allowed.join(', ')})`;
    }
    for (const key of allowed) {
      if (!(key in r)) continue;
      const v = r[key];
      if (key === 'user_id' ? !Number.isInteger(v) : typeof v !== 'string')
        return `card[${i}].${key} must be ${key === 'user_id' ? 'an integer' : 'a string'}`;
    }
    if (type === 'user' ? !('user_id' in r) : typeof r.text !== 'string' || !r.text)
      return `card[${i}] (${type}) needs ${type === 'user' ? 'user_id' : 'text'}`;
  }
  return undefined;
}

/** Cards and requests kept (the oldest are dropped), so a long-running local stack does not grow without bound. */
const MAX_KEPT = 10_000;
const keep = <T>(list: T[], item: T) => {
  list.push(item);
  if (list.length > MAX_KEPT) list.splice(0, list.length - MAX_KEPT);
};

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const readBody = async (req: IncomingMessage, max: number): Promise<string | undefined> =>
  (await readRequestBody(req, max))?.toString('utf8');

/** A fresh stand-in Hipcall API with nothing received. */
export function createHipcallMock(options: HipcallMockOptions = {}): HipcallMock {
  const basePath = (options.basePath ?? '/_local/hipcall/api/v3').replace(/\/+$/, '');
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  let cards: ReceivedCard[] = [];
  let requests: CardRequest[] = [];
  let faults: Fault[] = [];
  const calls = new Map<string, Record<string, unknown>>();

  const fail = (fault: Fault) => {
    const count = Math.max(1, Math.floor(fault.count ?? 1));
    for (let i = 0; i < count; i++) faults.push({ ...fault, count: 1 });
  };

  const postCard = async (req: IncomingMessage, res: ServerResponse, callId: string) => {
    const receivedAt = () => new Date().toISOString();
    const auth = req.headers.authorization ?? '';
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1];
    const text = await readBody(req, maxBody);
    let body: unknown;
    try {
      body = text === undefined ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const answer = (status: number, payload: Record<string, unknown>) => {
      keep(requests, {
        callId,
        status,
        authorized: Boolean(presented),
        body,
        ...(typeof payload.message === 'string' ? { message: payload.message } : {}),
        receivedAt: receivedAt(),
      });
      send(res, status, payload);
    };

    const fault = faults.shift();
    if (fault) {
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.drop) {
        keep(requests, {
          callId,
          status: 0,
          authorized: Boolean(presented),
          body,
          message: 'connection dropped',
          receivedAt: receivedAt(),
        });
        req.socket.destroy();
        return;
      }
      const status = fault.status ?? 500;
      return answer(status, { message: fault.message ?? (status === 429 ? 'Too many requests' : 'Internal server error (injected)') });
    }
    if (!presented || (options.token !== undefined && presented !== options.token))
      return answer(401, { message: 'Unauthenticated: a valid API token is required (Authorization: Bearer <token>)' });
    if (text === undefined) return answer(413, { message: 'Request body too large' });
    const problem = cardBodyProblem(body);
    if (problem) return answer(422, { message: problem });
    const stored: ReceivedCard = { callId, card: (body as { card: unknown[] }).card, receivedAt: receivedAt() };
    keep(cards, stored);
    answer(201, { ...stored });
  };

  const control = async (req: IncomingMessage, res: ServerResponse, route: string, query: URLSearchParams): Promise<boolean> => {
    const method = req.method ?? 'GET';
    if (route === '/_cards' && method === 'GET') {
      const callId = query.get('callId');
      send(res, 200, callId ? cards.filter((c) => c.callId === callId) : cards);
    } else if (route === '/_cards' && method === 'DELETE') {
      cards = [];
      requests = [];
      send(res, 200, { message: 'cleared' });
    } else if (route === '/_requests' && method === 'GET') {
      const callId = query.get('callId');
      send(res, 200, callId ? requests.filter((r) => r.callId === callId) : requests);
    } else if (route === '/_faults' && method === 'POST') {
      let fault: Fault;
      try {
        fault = JSON.parse((await readBody(req, 64 * 1024)) || '{}') as Fault;
      } catch {
        send(res, 400, { message: 'body must be JSON such as {"status": 500, "count": 1}' });
        return true;
      }
      fail(fault);
      send(res, 200, { message: 'armed', pending: faults.length });
    } else if (route === '/_faults' && method === 'DELETE') {
      faults = [];
      send(res, 200, { message: 'cleared' });
    } else if (route === '/_calls' && method === 'POST') {
      try {
        const call = JSON.parse((await readBody(req, maxBody)) || '{}') as Record<string, unknown>;
        if (typeof call.uuid !== 'string') throw new Error();
        calls.set(call.uuid, call);
        send(res, 201, { data: call });
      } catch {
        send(res, 400, { message: 'body must be a call object with a "uuid"' });
      }
    } else return false;
    return true;
  };

  /** Hipcall's calls list as CallVault's reconcile reads it (seeds/README.md: started_at window, limit 1-100, offset). */
  const listCalls = (res: ServerResponse, query: URLSearchParams) => {
    const limit = Number(query.get('limit') ?? 20);
    const offset = Number(query.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return send(res, 422, { message: 'limit must be an integer from 1 to 100' });
    if (!Number.isInteger(offset) || offset < 0) return send(res, 422, { message: 'offset must be a non-negative integer' });
    const time = (v: unknown) => (typeof v === 'string' ? Date.parse(v) : NaN);
    const gte = time(query.get('started_at[gte]'));
    const lte = time(query.get('started_at[lte]'));
    const matching = [...calls.values()]
      .filter((c) => {
        const t = time(c.started_at);
        return (Number.isNaN(gte) || t >= gte) && (Number.isNaN(lte) || t <= lte);
      })
      .sort((a, b) => time(a.started_at) - time(b.started_at) || String(a.uuid).localeCompare(String(b.uuid)));
    send(res, 200, { data: matching.slice(offset, offset + limit), meta: { total: matching.length, limit, offset } });
  };

  return {
    async handle(req, res, path) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      let route = path;
      if (route === undefined) {
        if (url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) return false;
        route = url.pathname.slice(basePath.length);
      }
      route = `/${route.replace(/^\/+/, '')}`.replace(/\/+$/, '') || '/';
      const cardsRoute = /^\/calls\/([^/]+)\/cards$/.exec(route);
      if (cardsRoute && req.method === 'POST') {
        await postCard(req, res, decodeURIComponent(cardsRoute[1]!));
        return true;
      }
      if (route === '/calls' && req.method === 'GET') {
        if (!/^Bearer\s+\S+/i.test(req.headers.authorization ?? '')) send(res, 401, { message: 'Unauthenticated' });
        else listCalls(res, url.searchParams);
        return true;
      }
      const callRoute = /^\/calls\/([^/]+)$/.exec(route);
      if (callRoute && req.method === 'GET') {
        if (!/^Bearer\s+\S+/i.test(req.headers.authorization ?? '')) send(res, 401, { message: 'Unauthenticated' });
        else {
          const call = calls.get(decodeURIComponent(callRoute[1]!));
          if (call) send(res, 200, { data: call });
          else send(res, 404, { message: 'Call not found' });
        }
        return true;
      }
      return control(req, res, route, url.searchParams);
    },
    cards: () => [...cards],
    requests: () => [...requests],
    fail,
    setCall: (id, data) => void calls.set(id, { uuid: id, ...data }),
    reset() {
      cards = [];
      requests = [];
      faults = [];
      calls.clear();
    },
  };
}
