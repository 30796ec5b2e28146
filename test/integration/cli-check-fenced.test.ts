/**
 * `callvault check` for a source that accepts only its provider's addresses (allowedSourceIps): a POST
 * from the operator's machine would be refused with 403 (and count as a refusal). Locally the check says
 * it skipped the source and why; deployed it invokes the ingest function directly, here through a stand-in
 * of Lambda's Invoke API that runs the real ingest on the local stack's emulators, with the real SDK client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { match } from '#test/support/match.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCommand, invokeIngest, localTarget, runChecks, type CheckReport } from '#bin/cli/check.ts';
import { startLocalStack, type LocalStack } from '#bin/local/stack.ts';
import { fakeContext } from '#bin/local/poller.ts';
import { LOCAL_CREDENTIALS, localTarget as emulatorTarget } from '#bin/local/target.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { ENV } from '#contract/resources.ts';
import { StaticWebhookTokens } from '#bin/local/local-secrets.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { createIngestHandler } from '#functions/ingest/handler.ts';

const rawConfig = {
  sources: [
    { id: 'hipcall', provider: 'hipcall' },
    { id: 'fenced', provider: 'postcall', allowedSourceIps: ['203.0.113.0/24'] },
  ],
};
const TOKEN = 'fenced-check-token-0123456789';

let stack: LocalStack;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let lambdaApi: Server;
const invoked: APIGatewayProxyEventV2[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'callvault-check-fenced-'));
  const config = parseConfig(rawConfig);
  stack = await startLocalStack({ dataDir, config, token: TOKEN });
  env = { CALLVAULT_DATA_DIR: dataDir, CALLVAULT_CONFIG: JSON.stringify(rawConfig) };
  // Lambda's Invoke, answered by the real ingest against the same emulators the local stack uses.
  const e = stack.endpoints;
  const ingest = createIngestHandler(
    ingestDeps(
      {
        [ENV.callsTable]: e.tables.calls,
        [ENV.bucket]: e.bucket,
        [ENV.mediaQueueUrl]: e.queues.media,
        [ENV.insightQueueUrl]: e.queues.insight,
        [ENV.replayQueueUrl]: e.queues.replay,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      },
      { config, target: emulatorTarget(e), tokens: new StaticWebhookTokens(TOKEN) },
    ),
  );
  lambdaApi = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      if (req.method !== 'POST' || !/^\/2015-03-31\/functions\/CallVault-Ingest\/invocations$/.test(req.url ?? '')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"Type":"User","message":"Function not found"}');
        return;
      }
      const event = JSON.parse(body) as APIGatewayProxyEventV2;
      invoked.push(event);
      void (ingest(event, fakeContext('callvault-ingest', 6000)) as Promise<APIGatewayProxyStructuredResultV2>).then((answer) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)),
      );
    });
  });
  await new Promise<void>((ok) => lambdaApi.listen(0, '127.0.0.1', ok));
});

afterAll(async () => {
  await new Promise((ok) => lambdaApi?.close(ok));
  await stack?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('callvault check, a source with allowedSourceIps', () => {
  it('locally, skips it and says why, without failing the check', async () => {
    const lines: string[] = [];
    const code = await checkCommand(['--local', '--json'], (l) => void lines.push(l), env);
    const report = JSON.parse(lines.join('\n')) as CheckReport;
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(code).toBe(0);
    expect(report.checks.filter((c) => c.check === 'delivery')).toEqual([
      match.objectContaining({ subject: 'hipcall', ok: true }),
      {
        check: 'delivery',
        subject: 'fenced',
        ok: true,
        skipped: true,
        detail: match.stringMatching(
          /^skipped: the source accepts only 203\.0\.113\.0\/24 \(allowedSourceIps\).*add 127\.0\.0\.1\/32/,
        ) as string,
      },
    ]);
  });

  it('deployed, invokes the ingest function directly, as from an allowed address, and reads the call back', async () => {
    const lambda = new LambdaClient({
      endpoint: `http://127.0.0.1:${(lambdaApi.address() as AddressInfo).port}`,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    const target = await localTarget(env);
    try {
      const report = await runChecks(
        { ...target, invokeIngest: (event) => invokeIngest(lambda, 'CallVault-Ingest', 'CallVault', event) },
        'fenced',
      );
      expect(report.checks.find((c) => c.check === 'delivery')).toMatchObject({
        subject: 'fenced',
        ok: true,
        detail: match.stringMatching(
          /^stored and read back \(postcall#callvault-check-[0-9a-f]+\), then removed \(the ingest function invoked directly/,
        ) as string,
      });
      expect(invoked).toHaveLength(1);
      expect(invoked[0]).toMatchObject({
        routeKey: 'POST /webhooks/fenced/{token}',
        pathParameters: { token: TOKEN },
        requestContext: { http: { method: 'POST', sourceIp: '203.0.113.0' } },
      });
      // Without the output naming the function (a stack deployed before it existed), the line says to redeploy.
      const old = await runChecks({ ...target, invokeIngest: (event) => invokeIngest(lambda, undefined, 'CallVault', event) }, 'fenced');
      expect(old.checks.find((c) => c.check === 'delivery')).toMatchObject({
        ok: false,
        detail: match.stringMatching(
          /could not invoke the ingest function \(stack "CallVault" has no IngestFunctionName output: redeploy/,
        ) as string,
      });
    } finally {
      lambda.destroy();
      target.close();
    }
  });
});
