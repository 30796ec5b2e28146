/**
 * Local stand-in for the HTTP API: turns a node:http request into the API Gateway (HTTP API v2)
 * event the ingest Lambda receives in AWS, and the handler's result back into a response. It routes
 * what the deployed API routes (POST, GET, HEAD) and refuses what API Gateway refuses before the
 * function runs (unrouted methods, malformed paths, bodies over 10 MB) the way API Gateway does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { fakeContext } from './poller.ts';

/** A function's HTTP handler as Lambda runs it; the answer is read as API Gateway's structured result. */
export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

const ROUTE = /^\/webhooks\/([^/]+)\/([^/]+)\/?$/;
/** API Gateway's own payload limit. */
const API_GATEWAY_MAX_BYTES = 10 * 1024 * 1024;
const TEXT_TYPES = /^(text\/|application\/(json|[a-z0-9.+-]+\+json|xml|x-www-form-urlencoded|javascript))/i;

/** A request's whole body; undefined once it passes `limit` bytes (the rest is left unread). */
export async function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** One answer to a webhook request, as the local stack logs it. */
export interface WebhookAnswer {
  /** The source segment of the path, as sent. */
  source: string;
  method: string;
  status: number;
  /** The answer's body (JSON with `status` or `message`). */
  body: string;
  ms: number;
}

function sendRaw(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  res.writeHead(status, headers);
  res.end(body);
}

/** The methods the deployed HTTP API routes to the ingest (lib/constructs/webhook-api.ts); any other answers 404 there. */
const ROUTED_METHODS = new Set(['POST', 'GET', 'HEAD']);

/** A path parameter decoded as API Gateway hands it to the function, or undefined when its percent-encoding is malformed. */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Serve `/webhooks/{source}/{token}` with the real ingest handler. Returns false for other paths.
 * `routedSources`: the source ids with a route of their own (`/webhooks/{id}/{token}`, as the deployed
 * API has one per configured source, for its throttle); their requests carry that route key and no
 * `source` parameter, as in AWS. Others take the generic route.
 */
export async function serveWebhook(
  req: IncomingMessage,
  res: ServerResponse,
  handler: HttpHandler,
  routedSources: ReadonlySet<string> = new Set(),
  onAnswer?: (answer: WebhookAnswer) => void,
): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const match = ROUTE.exec(url.pathname);
  if (!match) return false;
  const started = Date.now();
  const method0 = (req.method ?? 'GET').toUpperCase();
  // Every answer passes here once, for the stack's one line per delivery (never the token in the path).
  const send = (r: ServerResponse, status: number, body: string, headers?: Record<string, string>) => {
    sendRaw(r, status, body, headers);
    onAnswer?.({ source: match[1]!, method: method0, status, body, ms: Date.now() - started });
  };
  const method = (req.method ?? 'GET').toUpperCase();
  if (!ROUTED_METHODS.has(method)) {
    send(res, 404, JSON.stringify({ message: 'Not Found' }));
    req.resume();
    return true;
  }
  const source = decodeSegment(match[1]!);
  const token = decodeSegment(match[2]!);
  if (source === undefined || token === undefined) {
    // API Gateway refuses such a path itself, with a 4xx, before any function runs.
    send(
      res,
      400,
      JSON.stringify({
        message:
          'Bad Request: the URL path has a malformed percent-encoding (a "%" not followed by two hex digits). Check the webhook URL.',
      }),
    );
    req.resume();
    return true;
  }
  const bytes = await readRequestBody(req, API_GATEWAY_MAX_BYTES);
  if (!bytes) {
    send(res, 413, JSON.stringify({ message: 'Request Entity Too Large' }));
    req.resume();
    return true;
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const contentType = headers['content-type'] ?? '';
  const isText = bytes.length === 0 || contentType === '' || TEXT_TYPES.test(contentType);
  const now = new Date();
  const ownRoute = routedSources.has(match[1]!);
  const routeKey = ownRoute ? `${method} /webhooks/${match[1]!}/{token}` : `${method} /webhooks/{source}/{token}`;
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: crypto.randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    pathParameters: ownRoute ? { token } : { source, token },
    body: bytes.length ? (isText ? bytes.toString('utf8') : bytes.toString('base64')) : undefined,
    isBase64Encoded: bytes.length > 0 && !isText,
  };
  try {
    const result = (await handler(event, fakeContext('callvault-ingest', 6000))) as APIGatewayProxyStructuredResultV2;
    const outHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) outHeaders[k] = String(v);
    send(res, result.statusCode ?? 200, result.body ?? '', outHeaders);
  } catch {
    // What API Gateway answers when the function itself fails.
    send(res, 500, JSON.stringify({ message: 'Internal Server Error' }));
  }
  return true;
}
