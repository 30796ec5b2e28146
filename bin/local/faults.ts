/**
 * Outages on demand for the local stack, so the fallbacks and their alarms can be seen on one machine:
 * `POST /_local/faults {"services": ["dynamodb"], "seconds": 5}` makes every DynamoDB call the functions
 * make fail as a refused connection would, for 5 seconds (or until `DELETE /_local/faults`).
 *
 * The fault sits in a middleware on the functions' own clients (the same hook the limits layer uses), so
 * the handlers meet it exactly where they would meet an outage in AWS: on `send`, before any retry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AwsService, AwsTarget, SdkClient } from '#adapters/aws.ts';
import { composeInstruments } from '#bin/aws-fidelity/aws-contract.ts';
import type { MiddlewareStackLike } from '#bin/aws-fidelity/aws-limits.ts';

export const FAULTS_PATH = '/_local/faults';
const SERVICES: readonly AwsService[] = ['dynamodb', 's3', 'sqs', 'secretsmanager', 'cloudwatch'];
const MAX_SECONDS = 600;

export class LocalFaults {
  /** Until when each service is down (epoch ms). */
  readonly #downUntil = new Map<AwsService, number>();

  constructor(private readonly now: () => number = Date.now) {}

  down(services: AwsService[], seconds: number): void {
    for (const s of services) this.#downUntil.set(s, this.now() + seconds * 1000);
  }

  clear(): void {
    this.#downUntil.clear();
  }

  isDown(service: AwsService): boolean {
    const until = this.#downUntil.get(service);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.#downUntil.delete(service);
    return false;
  }

  /** Throws what a client of `service` would meet while it is down (for the stand-ins that are not SDK clients). */
  assertUp(service: AwsService): void {
    if (this.isDown(service)) throw refused(service);
  }

  /** The services down now, with the seconds left. */
  state(): Record<string, number> {
    return Object.fromEntries(
      SERVICES.filter((s) => this.isDown(s)).map((s) => [s, Math.ceil((this.#downUntil.get(s)! - this.now()) / 1000)]),
    );
  }

  /** `target` with the faults in front of every client built from it. */
  wrap(target: AwsTarget): AwsTarget {
    return { ...target, instrument: composeInstruments(target.instrument, (client, service) => this.#instrument(client, service)) };
  }

  #instrument(client: SdkClient, service: AwsService): void {
    (client.middlewareStack as unknown as MiddlewareStackLike).add(
      (next) => async (args) => {
        if (this.isDown(service)) throw refused(service);
        return next(args);
      },
      { step: 'initialize', name: 'callvaultLocalFault', priority: 'high', override: true },
    );
  }

  /** `POST` sets faults, `DELETE` clears them, `GET` shows them; answers whether it handled the request. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'DELETE') {
      this.clear();
      return send(res, 200, { down: this.state() });
    }
    if (req.method === 'POST') {
      const parsed = parseFaultRequest(await readBody(req));
      if ('message' in parsed) return send(res, 400, parsed);
      this.down(parsed.services, parsed.seconds);
      return send(res, 200, { down: this.state() });
    }
    return send(res, 200, { down: this.state() });
  }
}

/** The error a client meets when its service is down: what Node throws for a refused connection. */
function refused(service: AwsService): Error {
  return Object.assign(new Error(`connect ECONNREFUSED: ${service} is down (a local fault set through ${FAULTS_PATH})`), {
    code: 'ECONNREFUSED',
    $metadata: {},
  });
}

export function parseFaultRequest(body: string): { services: AwsService[]; seconds: number } | { message: string } {
  const usage = `send {"services": [${SERVICES.map((s) => `"${s}"`).join(', ')}], "seconds": 1-${MAX_SECONDS}}`;
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return { message: `The body is not JSON: ${usage}` };
  }
  const { services, seconds } = (doc ?? {}) as { services?: unknown; seconds?: unknown };
  if (!Array.isArray(services) || services.length === 0 || !services.every((s): s is AwsService => SERVICES.includes(s as AwsService))) {
    return { message: `"services" must list one or more of the emulated services: ${usage}` };
  }
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_SECONDS) {
    return { message: `"seconds" must be a number of seconds the outage lasts: ${usage}` };
  }
  return { services, seconds };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 4096) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
