/**
 * `callvault check --local`: against the local stack (run in-process, its HTTP API and
 * endpoints.json as `npm start` makes them), a healthy stack passes and keeps nothing synthetic; a message
 * in a DLQ fails the check and names the DLQ.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { PurgeQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCommand, type CheckReport } from '#bin/cli/check.ts';
import { documentClient } from '#bin/cli/context.ts';
import { startLocalStack, type LocalStack } from '#bin/local/stack.ts';
import { LOCAL_CREDENTIALS } from '#bin/local/target.ts';
import { parseConfig } from '#contract/config.ts';
import { hipcallHangup } from '#test/support/ingest-harness.ts';

const rawConfig = {
  sources: [
    { id: 'hipcall', provider: 'hipcall' },
    { id: 'signed', provider: 'hipcall', signature: 'standard-webhooks' },
    { id: 'callhippo', provider: 'callhippo' },
    { id: 'postcall', provider: 'postcall' },
  ],
};
const SIGNING_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

let stack: LocalStack;
let dataDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'callvault-check-'));
  stack = await startLocalStack({
    dataDir,
    config: parseConfig(rawConfig),
    signingSecret: SIGNING_SECRET,
    token: 'check-token-0123456789',
  });
  // What `npm start` and `callvault check --local` share: the data dir, the config and the signing secret.
  env = { CALLVAULT_DATA_DIR: dataDir, CALLVAULT_CONFIG: JSON.stringify(rawConfig), CALLVAULT_LOCAL_SIGNING_SECRET: SIGNING_SECRET };
});

afterAll(async () => {
  await stack?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** `callvault check --local ...` in-process: its exit code and everything it printed. */
async function check(...args: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await checkCommand(['--local', ...args], (line) => void lines.push(line), env);
  return { code, text: lines.join('\n') };
}

describe('callvault check --local', () => {
  it('passes on a healthy stack, after storing, reading back and removing a synthetic call per source', async () => {
    // A real call of today first (the last delivery is read from today's and yesterday's calls), without its recording.
    const now = new Date().toISOString();
    const hangup = JSON.parse(hipcallHangup('real-call-before-check')) as { data: Record<string, unknown> };
    Object.assign(hangup.data, { started_at: now, answered_at: now, ended_at: now, record_url: undefined });
    const real = await fetch(stack.endpoints.sources.find((s) => s.id === 'hipcall')!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(hangup),
    });
    expect(real.status).toBe(200);

    const { code, text } = await check('--json');
    const report = JSON.parse(text) as CheckReport;
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);

    const deliveries = report.checks.filter((c) => c.check === 'delivery');
    expect(deliveries.map((c) => c.subject).sort()).toEqual(['callhippo', 'hipcall', 'postcall', 'signed']);
    const callKeys = deliveries.map((c) => /\(([a-z]+#callvault-check-[0-9a-f]+)\)/.exec(c.detail)?.[1]);
    expect(callKeys).toEqual([expect.any(String), expect.any(String), expect.any(String), expect.any(String)]);
    const last = report.checks.find((c) => c.check === 'lastDelivery' && c.subject === 'hipcall')?.at ?? '';
    expect(last >= now).toBe(true);
    expect(report.checks.find((c) => c.check === 'lastDelivery' && c.subject === 'callhippo')?.at).toBeUndefined();
    expect(
      report.checks
        .filter((c) => c.check === 'hipcallToken')
        .map((c) => c.subject)
        .sort(),
    ).toEqual(['hipcall', 'signed']);
    expect(report.checks.find((c) => c.check === 'alarms')?.detail).toBe('no alarms locally');

    // Nothing synthetic is left: no item, no raw/ or cdr/ object.
    const e = stack.endpoints;
    const doc = documentClient({ local: e });
    const s3 = new S3Client({ endpoint: e.s3, region: e.region, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
    try {
      for (const callKey of callKeys)
        expect((await doc.send(new GetCommand({ TableName: e.tables.calls, Key: { callKey } }))).Item).toBeUndefined();
      const { Items = [] } = await doc.send(new ScanCommand({ TableName: e.tables.calls, ProjectionExpression: 'callKey' }));
      expect(Items.map((i) => i.callKey)).toEqual(['hipcall#real-call-before-check']);
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: e.bucket, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
      } while (token);
      expect(keys.some((k) => k.includes('real-call-before-check'))).toBe(true);
      expect(keys.filter((k) => k.includes('callvault-check-'))).toEqual([]);
    } finally {
      doc.destroy();
      s3.destroy();
    }
  });

  it('fails, naming the DLQ, when a message sits in the media DLQ', async () => {
    const e = stack.endpoints;
    const sqs = new SQSClient({ endpoint: e.sqs, region: e.region, credentials: LOCAL_CREDENTIALS });
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: e.queues.mediaDlq, MessageBody: JSON.stringify({ dead: 'lettered' }) }));

      const screen = await check('--source', 'postcall');
      expect(screen.code).toBe(1);
      expect(screen.text).toMatch(/FAIL mediaDlq .*dead-lettered.*callvault replay --dlq media/);
      expect(screen.text).toMatch(/check\(s\) failed: queue mediaDlq\./);

      const json = await check('--source', 'postcall', '--json');
      expect(json.code).toBe(1);
      const report = JSON.parse(json.text) as CheckReport;
      expect(report.ok).toBe(false);
      expect(report.checks.filter((c) => !c.ok)).toEqual([expect.objectContaining({ check: 'queue', subject: 'mediaDlq', depth: 1 })]);
      // The delivery itself still passed: only the DLQ is wrong.
      expect(report.checks.find((c) => c.check === 'delivery')).toMatchObject({ subject: 'postcall', ok: true });
    } finally {
      await sqs.send(new PurgeQueueCommand({ QueueUrl: e.queues.mediaDlq })).catch(() => undefined);
      sqs.destroy();
    }
  });

  it('refuses a source that is not configured, naming the ones that are', async () => {
    await expect(check('--source', 'nope')).rejects.toThrow(/No source "nope": the sources are hipcall, signed, callhippo, postcall/);
  });
});
