/**
 * The whole of CallVault on one machine: the three emulators, the HTTP API on the real ingest handler,
 * SQS pollers feeding the real media and insight handlers (and the replay queue back to ingest),
 * a stand-in Hipcall API and a demo media server. No AWS account, no network beyond this machine.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SQSClient } from '@aws-sdk/client-sqs';
import { parseConfig, type CallVaultConfig } from '#contract/config-schema.ts';
import { ENV, INSIGHT_QUEUE, MAX_MEDIA_DELAY_SECONDS, MEDIA_QUEUE, REPLAY_QUEUE } from '#contract/resources.ts';
import type { LocalHipcallApi } from '#adapters/hipcall-access.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { createReplayHandler, createWebhookHandler } from '#functions/ingest/handler.ts';
import { insightDeps } from '#functions/insight/deps.ts';
import { createInsightHandler } from '#functions/insight/handler.ts';
import { mediaDeps } from '#functions/media/deps.ts';
import { createMediaHandler } from '#functions/media/handler.ts';
import { silenceDeps } from '#functions/silence/deps.ts';
import { createSilenceHandler } from '#functions/silence/handler.ts';
import { reconcileDeps } from '#functions/reconcile/deps.ts';
import { createReconcileHandler } from '#functions/reconcile/handler.ts';
import { summaryLines } from '#core/reconcile.ts';
import type { DeliveryHistory } from '#core/ports/delivery-history.ts';
import { readProjectConfig } from '#bin/local/project-config.ts';
import { startEmulators, type Emulators } from './emulators.ts';
import { StaticSigningSecrets, StaticWebhookTokens } from './local-secrets.ts';
import { serveWebhook, type HttpHandler, type WebhookAnswer } from './http-api.ts';
import { deliveryLine } from './delivery-log.ts';
import { fakeContext, startPoller } from './poller.ts';
import { createHipcallMock } from './hipcall-mock.ts';
import { startDemoMedia } from './demo-media.ts';
import { LOCAL_ENV, localClientConfig } from './target.ts';
import { localFunctionTarget, type ContractFunction } from '#bin/aws-fidelity/aws-contract.ts';
import { FAULTS_PATH, LocalFaults } from './faults.ts';
import { EmfDeliveryHistory, LOCAL_SILENCE_EVERY_MS, SILENCE_CHECK_PATH } from './silence.ts';

/** Where the local stack writes the functions' EMF metric lines, under its data dir. */
export const METRICS_LOG = 'metrics.log';

export const HIPCALL_MOCK_PATH = '/_local/hipcall/api/v3';
/** The bearer token the stand-in Hipcall API expects from local mode. */
export const LOCAL_HIPCALL_API_TOKEN = 'local-hipcall-api-token';
/** `POST` runs the scheduled reconcile of every source with `reconcile` now, as its schedule would. */
export const RECONCILE_PATH = '/_local/reconcile';

export interface LocalStackOptions {
  port?: number;
  dynamodbPort?: number;
  s3Port?: number;
  sqsPort?: number;
  dataDir?: string;
  token?: string;
  /** The Standard Webhooks secret of every source whose config sets `signature` (CALLVAULT_LOCAL_SIGNING_SECRET). */
  signingSecret?: string;
  fetchAllow?: string[];
  mediaDelaySeconds?: number;
  /** The replay queue's visibility timeout, instead of the deployed one (CALLVAULT_REPLAY_RETRY_SECONDS). */
  replayRetrySeconds?: number;
  /** The Hipcall API every Hipcall source uses instead of the stand-in (CALLVAULT_HIPCALL_API). */
  hipcallApi?: string;
  host?: string;
  config?: CallVaultConfig;
  /** The handlers' Powertools log level. @default WARN */
  logLevel?: string;
  log?: (line: string) => void;
}

export interface Endpoints {
  api: string;
  dynamodb: string;
  s3: string;
  sqs: string;
  region: string;
  tables: { calls: string; contacts: string };
  bucket: string;
  queues: Emulators['queues'];
  hipcallMock: string;
  /** The Hipcall API base every Hipcall source uses: `hipcallMock`, or CALLVAULT_HIPCALL_API when set (absent in an older endpoints.json: the stand-in). */
  hipcallApi?: string;
  demoMedia: string;
  token: string;
  sources: { id: string; provider: string; url: string }[];
}

export interface LocalStack {
  endpoints: Endpoints;
  close(): Promise<void>;
}

/** The project root: local mode runs the sources of its cdk.json, as a deploy would. */
const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));

const num = (v: string | undefined, fallback: number) => (v === undefined || v === '' ? fallback : Number(v));

/** Options from the environment, as DESIGN.md's local-stack table documents them. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): LocalStackOptions {
  const config = env[ENV.config];
  return {
    port: num(env[LOCAL_ENV.port], 3000),
    dynamodbPort: num(env[LOCAL_ENV.dynamodbPort], 8000),
    s3Port: num(env[LOCAL_ENV.s3Port], 4568),
    sqsPort: num(env[LOCAL_ENV.sqsPort], 9324),
    dataDir: env[LOCAL_ENV.dataDir] || '.callvault',
    token: env[LOCAL_ENV.token] || 'dev-token',
    signingSecret: env[LOCAL_ENV.signingSecret] || undefined,
    fetchAllow: (env[LOCAL_ENV.fetchAllow] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    mediaDelaySeconds: wholeSeconds(LOCAL_ENV.mediaDelay, env[LOCAL_ENV.mediaDelay], MAX_MEDIA_DELAY_SECONDS, "SQS's longest delay"),
    replayRetrySeconds: wholeSeconds(
      LOCAL_ENV.replayRetry,
      env[LOCAL_ENV.replayRetry],
      43_200,
      "12 hours, SQS's longest visibility timeout",
    ),
    hipcallApi: hipcallApiOverride(env[LOCAL_ENV.hipcallApi]),
    // A whole callvault config as JSON, instead of the one in cdk.json (tests use it to fence media hosts).
    config: config ? parseConfig(JSON.parse(config), ENV.config) : undefined,
    logLevel: env.POWERTOOLS_LOG_LEVEL || undefined,
  };
}

/** A seconds variable (CALLVAULT_MEDIA_DELAY_SECONDS, CALLVAULT_REPLAY_RETRY_SECONDS), checked: whole seconds SQS accepts, or undefined when unset. */
export function wholeSeconds(name: string, value: string | undefined, max: number, maxIs: string): number | undefined {
  if (!value?.trim()) return undefined;
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new Error(`${name} must be whole seconds from 0 to ${max} (${maxIs}), not "${value}".`);
  return n;
}

/** CALLVAULT_HIPCALL_API, checked: an http(s) URL, or undefined when unset. */
export function hipcallApiOverride(value: string | undefined): string | undefined {
  if (!value?.trim()) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value.trim());
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol))
    throw new Error(`${LOCAL_ENV.hipcallApi} must be an http(s) base URL such as http://127.0.0.1:8080/api/v3, not "${value}".`);
  return value.trim().replace(/\/+$/, '');
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => undefined);
  const dataDir = resolve(opts.dataDir ?? '.callvault');
  await mkdir(dataDir, { recursive: true });
  const config = opts.config ?? (await readProjectConfig(root));
  // A line per invocation per source would bury the console: the lines go to a file (in Lambda, stdout).
  const metricsPath = join(dataDir, METRICS_LOG);
  const metricsFile = createWriteStream(metricsPath, { flags: 'a' });
  // The silence check reads each source's last delivery from these lines (there is no CloudWatch here).
  const deliveries = EmfDeliveryHistory.fromLog(metricsPath);
  const metricsOut = (line: string) => {
    deliveries.observe(line);
    metricsFile.write(`${line}\n`);
  };
  log(`Metrics (CloudWatch EMF, namespace CallVault) are appended to ${metricsPath}.`);
  const token = opts.token ?? 'dev-token';

  // Each emulator in a process of its own: sharing the API's event loop, dynalite saturated at ~50 deliveries/s.
  const emulators = await startEmulators({
    dynamodbPort: opts.dynamodbPort ?? 0,
    s3Port: opts.s3Port ?? 0,
    sqsPort: opts.sqsPort ?? 0,
    dataDir,
    host,
    processes: true,
    ...(opts.replayRetrySeconds !== undefined ? { visibility: { replay: opts.replayRetrySeconds } } : {}),
  });
  const demo = await startDemoMedia({ host });
  const hipcall = createHipcallMock({ token: LOCAL_HIPCALL_API_TOKEN });

  // The HTTP server starts first so the stand-in Hipcall API's URL is known before the handlers are built.
  const loaded: { webhook?: HttpHandler; silenceCheck?: () => Promise<unknown>; reconcile?: () => Promise<unknown> } = {};
  const faults = new LocalFaults();
  const server: Server = createServer((req, res) => {
    void route(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'local stack error' }));
    });
  });
  // Each configured source has its own route, as in the deployed API (lib/constructs/webhook-api.ts).
  const routedSources = new Set(config.sources.map((s) => s.id));
  const logDelivery = (answer: WebhookAnswer) => {
    const line = deliveryLine(answer);
    if (line) log(line);
  };
  const route = async (req: Parameters<typeof serveWebhook>[0], res: Parameters<typeof serveWebhook>[1]) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path.startsWith(HIPCALL_MOCK_PATH + '/') && (await hipcall.handle(req, res, path.slice(HIPCALL_MOCK_PATH.length)))) return;
    if (loaded.webhook && (await serveWebhook(req, res, loaded.webhook, routedSources, logDelivery))) return;
    // Outages on demand, and the silence check on demand: to see the fallbacks and alarms locally.
    if (path === FAULTS_PATH) return faults.handle(req, res);
    if (path === SILENCE_CHECK_PATH && req.method === 'POST' && loaded.silenceCheck) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(await loaded.silenceCheck()));
      return;
    }
    if (path === RECONCILE_PATH && req.method === 'POST' && loaded.reconcile) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(await loaded.reconcile()));
      return;
    }
    if (path === '/' || path === '/_local/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', message: 'CallVault local stack. POST webhooks to /webhooks/{source}/{token}.' }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: 'Not found. Webhooks go to /webhooks/{source}/{token}.' }));
  };
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(opts.port ?? 0, host, () => ok()));
  const api = `http://${host}:${(server.address() as AddressInfo).port}`;
  const hipcallMock = `${api}${HIPCALL_MOCK_PATH}`;

  // The functions get the environment the stack would give them; what only local mode has (and the
  // config, which a deployed function has compiled in) is passed in.
  const fnEnv = { ...emulators.env, POWERTOOLS_LOG_LEVEL: opts.logLevel ?? 'WARN' };
  // Each function's own clients go through AWS's limits (and, under test, the call recorder).
  const targetOf = (fn: ContractFunction) => faults.wrap(localFunctionTarget(emulators.target, fn));
  const hipcallSources = config.sources.filter((s) => s.provider === 'hipcall').map((s) => s.id);
  const hipcallApi: LocalHipcallApi = {
    baseUrls: Object.fromEntries(hipcallSources.map((id) => [id, opts.hipcallApi ?? hipcallMock])),
    secrets: Object.fromEntries(hipcallSources.map((id) => [id, LOCAL_HIPCALL_API_TOKEN])),
  };
  const unsigned = config.sources.filter((s) => s.signature && !opts.signingSecret?.trim()).map((s) => s.id);
  if (unsigned.length > 0)
    log(`Sources ${unsigned.join(', ')} require a signature but ${LOCAL_ENV.signingSecret} is not set: they answer 401 to every POST.`);
  const signingSecrets = new StaticSigningSecrets(
    opts.signingSecret,
    `start the local stack with ${LOCAL_ENV.signingSecret}=whsec_... (the secret the sender signs with).`,
  );
  const ingest = ingestDeps(fnEnv, {
    config,
    target: targetOf('ingest'),
    tokens: new StaticWebhookTokens(token),
    signingSecrets,
    metricsOut,
    ...(opts.mediaDelaySeconds !== undefined ? { mediaDelaySeconds: opts.mediaDelaySeconds } : {}),
  });
  const media = createMediaHandler(
    mediaDeps(fnEnv, {
      config,
      target: targetOf('media'),
      allowHttp: true,
      fetchAllow: [...(opts.fetchAllow ?? []), demo.hostPort],
      hipcall: hipcallApi,
      visibilityChangeCountsAsReceive: true,
      metricsOut,
    }),
  );
  const insight = createInsightHandler(insightDeps(fnEnv, { config, target: targetOf('insight'), hipcall: hipcallApi, metricsOut }));
  loaded.webhook = createWebhookHandler(ingest);
  // The metrics log stands in for CloudWatch here, so a `cloudwatch` fault (POST /_local/faults) breaks it as an outage would.
  const history: DeliveryHistory = {
    lastDeliveryAt: (source, since, until) => {
      faults.assertUp('cloudwatch');
      return deliveries.lastDeliveryAt(source, since, until);
    },
  };
  const silence = createSilenceHandler(silenceDeps(fnEnv, { config, history, metricsOut }));
  loaded.silenceCheck = () =>
    silence({ source: 'callvault.local', 'detail-type': 'Scheduled Event' } as never, fakeContext('callvault-silence', 30_000));
  // Deployed, a schedule runs the check every 5 minutes; here every minute, only when some source sets silence.
  const silenceTimer = config.sources.some((s) => s.silence)
    ? setInterval(
        () => void loaded.silenceCheck!().catch((err: unknown) => log(`silence check: ${(err as Error).message}`)),
        LOCAL_SILENCE_EVERY_MS,
      )
    : undefined;
  // Each Hipcall source with `reconcile` runs on its own interval, as its EventBridge schedule does deployed.
  const reconciling = config.sources.filter((s) => s.reconcile);
  const reconcile = reconciling.length
    ? reconcileDeps(fnEnv, { config, target: targetOf('reconcile'), hipcall: hipcallApi, metricsOut })
    : undefined;
  const reconcileHandler = reconcile ? createReconcileHandler(reconcile) : undefined;
  // On demand too, as its schedule would run it: every source with `reconcile`, ReconcileFailed counted.
  if (reconcileHandler) loaded.reconcile = () => reconcileHandler({}, fakeContext('callvault-reconcile', 600_000));
  const reconcileTimers = reconciling.map((source) =>
    setInterval(() => {
      void reconcileHandler!({ reconcileSource: source.id }, fakeContext('callvault-reconcile', 600_000))
        .then(({ sources }) => sources.forEach((r) => log(`reconcile ${r.source}: ${summaryLines(r).join('; ')}`)))
        .catch((err: unknown) => log(`reconcile ${source.id}: ${(err as Error).message}`));
    }, source.reconcile!.everyMinutes * 60_000),
  );

  const sqs = new SQSClient(localClientConfig(emulators.endpoints.sqs));
  const onError = (err: unknown) => log(`poller: ${(err as Error).message}`);
  const stops = [
    startPoller({
      sqs,
      queueUrl: emulators.queues.media,
      handler: media,
      name: 'callvault-media',
      batchSize: MEDIA_QUEUE.batchSize,
      timeoutMs: MEDIA_QUEUE.consumerTimeoutSeconds * 1000,
      concurrency: 2,
      onError,
    }),
    startPoller({
      sqs,
      queueUrl: emulators.queues.insight,
      handler: insight,
      name: 'callvault-insight',
      batchSize: INSIGHT_QUEUE.batchSize,
      timeoutMs: INSIGHT_QUEUE.consumerTimeoutSeconds * 1000,
      concurrency: 4,
      onError,
    }),
    startPoller({
      sqs,
      queueUrl: emulators.queues.replay,
      handler: createReplayHandler(ingest),
      name: 'callvault-ingest-replay',
      batchSize: REPLAY_QUEUE.batchSize,
      timeoutMs: REPLAY_QUEUE.consumerTimeoutSeconds * 1000,
      concurrency: 1,
      onError,
    }),
  ];

  const endpoints: Endpoints = {
    api,
    dynamodb: emulators.endpoints.dynamodb,
    s3: emulators.endpoints.s3,
    sqs: emulators.endpoints.sqs,
    region: emulators.region,
    tables: emulators.tables,
    bucket: emulators.bucket,
    queues: emulators.queues,
    hipcallMock,
    hipcallApi: opts.hipcallApi ?? hipcallMock,
    demoMedia: demo.url,
    token,
    sources: config.sources.map((s) => ({ id: s.id, provider: s.provider, url: `${api}/webhooks/${s.id}/${token}` })),
  };
  await writeFile(join(dataDir, 'endpoints.json'), JSON.stringify(endpoints, null, 2) + '\n');

  let closed = false;
  return {
    endpoints,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(silenceTimer);
      reconcileTimers.forEach((t) => clearInterval(t));
      await reconcile?.close();
      await Promise.allSettled(stops.map((stop) => stop()));
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
      await Promise.allSettled([demo.close(), emulators.close()]);
      sqs.destroy();
      await new Promise<void>((ok) => metricsFile.end(() => ok()));
    },
  };
}
