import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig } from '#bin/local/emulators.ts';
import { fixture } from '#test/support/ingest-harness.ts';
import { projectRoot, startLocalStackProcess, type LocalStackProcess } from '#test/support/local-stack-process.ts';
import { SEED_DELIVERIES, SEED_ITEMS } from '#test/support/seeds.ts';

describe('local stack (npm start) over HTTP', () => {
  let stack: LocalStackProcess;
  let doc: DynamoDBDocumentClient;
  let s3: S3Client;
  beforeAll(async () => {
    // Media may only come from this machine: the seeds' example.com links are refused before any DNS lookup.
    const sources = ['hipcall', 'callhippo', 'postcall'].map((id) => ({ id, provider: id, mediaHostAllowlist: ['127.0.0.1'] }));
    stack = await startLocalStackProcess({
      CALLVAULT_MEDIA_DELAY_SECONDS: '1',
      CALLVAULT_CONFIG: JSON.stringify({ defaultCountry: 'US', sources }),
    });
    doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(stack.endpoints.dynamodb)));
    s3 = new S3Client(localClientConfig(stack.endpoints.s3));
  });
  afterAll(async () => {
    doc?.destroy();
    s3?.destroy();
    await stack?.stop();
  });

  it('prints the webhook URLs and writes endpoints.json as documented', () => {
    const e = stack.endpoints;
    expect(e.api).toBe(`http://127.0.0.1:${stack.env.PORT}`);
    expect(e.dynamodb).toBe(`http://127.0.0.1:${stack.env.DYNAMODB_PORT}`);
    expect(e.s3).toBe(`http://127.0.0.1:${stack.env.S3_PORT}`);
    expect(e.sqs).toBe(`http://127.0.0.1:${stack.env.SQS_PORT}`);
    expect(e.tables).toEqual({ calls: 'calls', contacts: 'contacts' });
    expect(Object.keys(e.queues).sort()).toEqual(['insight', 'insightDlq', 'media', 'mediaDlq', 'replay', 'replayDlq']);
    expect(e.hipcallMock).toBe(`${e.api}/_local/hipcall/api/v3`);
    expect(e.token).toBe('e2e-token-0123456789');
    for (const s of e.sources) expect(stack.output()).toContain(s.url);
    expect(e.sources.map((s) => s.id).sort()).toEqual(['callhippo', 'hipcall', 'postcall']);
  });

  it('answers GET on a webhook URL with 200 and a wrong token with 404', async () => {
    const url = stack.endpoints.sources.find((s) => s.id === 'callhippo')!.url;
    expect((await fetch(url)).status).toBe(200);
    const wrong = await fetch(url.replace(/[^/]+$/, 'not-the-token'), {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(wrong.status).toBe(404);
    expect(((await wrong.json()) as { message: string }).message).toMatch(/webhook URL/);
  });

  it('stores every seed payload posted over HTTP as the expected item', async () => {
    for (const d of SEED_DELIVERIES) {
      const url = stack.endpoints.sources.find((s) => s.id === d.source)!.url;
      const res = await fetch(url, { method: 'POST', body: fixture(d.fixture), headers: { 'content-type': 'application/json' } });
      expect(res.status, d.fixture).toBe(200);
      expect(((await res.json()) as { status: string }).status).toBe(d.answer);
    }
    for (const [callKey, expected] of Object.entries(SEED_ITEMS)) {
      const { Item } = await doc.send(new GetCommand({ TableName: stack.endpoints.tables.calls, Key: { callKey }, ConsistentRead: true }));
      expect(Item, callKey).toMatchObject(expected);
    }
    const { Contents } = await s3.send(new ListObjectsV2Command({ Bucket: stack.endpoints.bucket, Prefix: 'raw/' }));
    expect(Contents?.length ?? 0).toBeGreaterThanOrEqual(SEED_DELIVERIES.length);
  });

  it('quarantines invalid JSON posted over HTTP and answers 400 with a message', async () => {
    const url = stack.endpoints.sources.find((s) => s.id === 'postcall')!.url;
    const res = await fetch(url, { method: 'POST', body: '{"callId": ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/not valid JSON/);
    const { Contents } = await s3.send(new ListObjectsV2Command({ Bucket: stack.endpoints.bucket, Prefix: 'quarantine/postcall/' }));
    expect(Contents?.length).toBe(1);
  });

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'bin/callvault.ts', ...args], {
      cwd: projectRoot,
      encoding: 'utf8',
      env: { ...process.env, CALLVAULT_DATA_DIR: stack.dataDir },
    });

  it('callvault urls --local prints every source URL', () => {
    const run = cli('urls', '--local');
    expect(run.status).toBe(0);
    expect(stack.endpoints.sources).toHaveLength(3);
    for (const s of stack.endpoints.sources) expect(run.stdout).toContain(s.url);
  });

  it('callvault calls --local lists a day and a customer from the indexes', () => {
    const day = cli('calls', '--local', '--day', '2024-11-17');
    expect(day.status).toBe(0);
    expect(day.stdout).toContain('hipcall#2483a75a-56a2-41f1-991b-92b1667e324a');
    const customer = cli('calls', '--local', '--customer', '+44 20 4520 5757', '--json');
    expect(customer.status).toBe(0);
    const items = JSON.parse(customer.stdout) as { callKey: string }[];
    expect(items.map((i) => i.callKey)).toContain('hipcall#call_abc123');
    const bad = cli('calls', '--local', '--day', 'yesterday');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--day must be a day such as \d{4}-\d{2}-\d{2}, not "yesterday"/);
  });

  it('callvault replay --dlq moves dead-lettered jobs back to their queue', async () => {
    const sqs = new SQSClient(localClientConfig(stack.endpoints.sqs));
    const depth = async (url: string) => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
        }),
      );
      return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    };
    try {
      // An insight job for a call that no contact matches: harmless when it runs again.
      const job = {
        provider: 'hipcall',
        source: 'hipcall',
        callId: 'dlq-call',
        direction: 'inbound',
        customerNumber: '+15550000001',
        occurredAt: new Date().toISOString(),
        receivedAt: new Date().toISOString(),
      };
      await sqs.send(new SendMessageCommand({ QueueUrl: stack.endpoints.queues.insightDlq, MessageBody: JSON.stringify(job) }));
      const run = cli('replay', '--local', '--dlq', 'insight');
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(/^1 message\(s\) moved from the insight DLQ/);
      expect(await depth(stack.endpoints.queues.insightDlq)).toBe(0);
      // The insight poller picks it up and records the outcome on the item.
      const until = Date.now() + 15_000;
      let insight: unknown;
      while (!insight && Date.now() < until) {
        const { Item } = await doc.send(
          new GetCommand({ TableName: stack.endpoints.tables.calls, Key: { callKey: 'hipcall#dlq-call' }, ConsistentRead: true }),
        );
        insight = Item?.insight;
        if (!insight) await new Promise((r) => setTimeout(r, 200));
      }
      expect(insight).toMatchObject({ state: 'no_match' });
    } finally {
      sqs.destroy();
    }
  });

  it('npm run demo -- --once stores every recording, voicemail and transcript and delivers every card', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/demo.ts', '--once', '--timeout=60'], {
      cwd: projectRoot,
      encoding: 'utf8',
      env: { ...process.env, CALLVAULT_DATA_DIR: stack.dataDir },
      timeout: 90_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/All 5 media files stored and verified/);
    expect(run.stdout).toMatch(/All 2 cards delivered/);
  }, 100_000);
});
