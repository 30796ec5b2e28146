/**
 * No 2xx for a delivery that can't be stored: every hostile delivery (one that could strand in the replay
 * DLQ, or alias another call) is either stored (the call item present, oversized parts retrievable from S3,
 * exact numbers kept as strings) or refused with a 4xx and quarantined. None is queued for a replay.
 * The ingest here is built with the strict AWS layer (bin/aws-fidelity/aws-contract.ts), so a write AWS
 * would refuse fails here as it would in AWS, even though dynalite accepts it.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { localClientConfig } from '#bin/local/emulators.ts';
import { fakeContext, startPoller, type SqsHandler } from '#bin/local/poller.ts';
import { ENV } from '#contract/resources.ts';
import { StaticTokens } from '#adapters/webhook-tokens.ts';
import { ingestDeps } from '#functions/ingest/deps.ts';
import { createIngestHandler } from '#functions/ingest/handler.ts';
import { MAX_CALL_ID_BYTES } from '#core/providers/index.ts';
import type { ExtrasPointer } from '#core/types.ts';
import { strictAwsTarget } from '#bin/aws-fidelity/aws-contract.ts';
import { apiEvent, fixture, startIngestHarness, TOKEN, type Answer, type IngestHarness } from '#test/support/ingest-harness.ts';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const POST_CALL = JSON.parse(fixture('postcall/post_call.json')) as Record<string, unknown>;

/** A post-call delivery from the documented sample, with its own call id and `patch` applied. */
const postCall = (callId: string, patch: Record<string, unknown> = {}): Record<string, unknown> => ({ ...POST_CALL, callId, ...patch });

/** JSON text with `"@@name@@"` placeholders replaced by raw JSON (numbers and escapes JSON.stringify cannot write). */
const withRaw = (value: unknown, raw: Record<string, string>): string =>
  Object.entries(raw).reduce((text, [name, json]) => text.replace(`"@@${name}@@"`, json), JSON.stringify(value));

let h: IngestHarness;
let handler: ReturnType<typeof createIngestHandler>;
/** Every answer the hostile deliveries got. */
const answers: { name: string; answer: Answer }[] = [];

async function post(name: string, source: string, body: string | Buffer): Promise<Answer> {
  const event = Buffer.isBuffer(body) ? apiEvent(source, body.toString('base64'), { isBase64Encoded: true }) : apiEvent(source, body);
  const res = (await handler(event, fakeContext('ingest', 6000))) as APIGatewayProxyStructuredResultV2;
  const answer = { status: res.statusCode ?? 0, json: JSON.parse(res.body ?? '{}') as Record<string, unknown> };
  answers.push({ name, answer });
  return answer;
}

/** Post, expect 200 stored, and return the item. */
async function stored(
  name: string,
  source: 'postcall' | 'hipcall',
  callId: string,
  body: string | Buffer,
): Promise<Record<string, unknown>> {
  const answer = await post(name, source, body);
  expect(answer, name).toMatchObject({ status: 200, json: { status: 'stored', callIds: [callId] } });
  const item = await h.item(`${source}#${callId}`);
  expect(item, `${name}: the call item`).toBeDefined();
  return item!;
}

/** Post, expect a 4xx with a message, and return the quarantine document of exactly this body. */
async function refused(
  name: string,
  source: 'postcall' | 'hipcall',
  body: string | Buffer,
): Promise<{ answer: Answer; quarantined: Record<string, unknown> }> {
  const answer = await post(name, source, body);
  expect(answer.status, name).toBeGreaterThanOrEqual(400);
  expect(answer.status, name).toBeLessThan(500);
  expect(typeof answer.json.message, name).toBe('string');
  const key = (await h.objects(`quarantine/${source}/`)).find((k) => k.endsWith(`-${sha256(body)}.json`));
  expect(key, `${name}: a quarantine/ object for this body`).toBeDefined();
  return { answer, quarantined: JSON.parse(await h.object(key!)) as Record<string, unknown> };
}

beforeAll(async () => {
  h = await startIngestHarness({
    defaultCountry: 'GB',
    sources: [
      { id: 'hipcall', provider: 'hipcall' },
      { id: 'postcall', provider: 'postcall' },
    ],
  });
  const env = { ...h.emulators.env, [ENV.config]: JSON.stringify(h.config), POWERTOOLS_LOG_LEVEL: 'SILENT' };
  handler = createIngestHandler(
    ingestDeps(env, { target: strictAwsTarget(h.emulators.target, 'ingest'), tokens: new StaticTokens(TOKEN) }),
  );
});

afterAll(async () => h?.close());

describe('hostile deliveries: stored with what DynamoDB cannot hold reduced', () => {
  it('keeps nanosecond integers beyond 2^53 as their exact digits, and the delivery verbatim in raw/', async () => {
    const body = withRaw(postCall('pc-nanos', { callAnalysis: { startedNs: '@@a@@', endedNs: '@@b@@', score: 85 } }), {
      a: '1737367200123456789',
      b: '-1737367245987654321',
    });
    const item = await stored('nanoseconds', 'postcall', 'pc-nanos', body);
    expect(item.analysis).toEqual({ startedNs: '1737367200123456789', endedNs: '-1737367245987654321', score: 85 });
    const raw = (await h.objects('raw/postcall/')).filter((k) => k.includes('/pc-nanos/'));
    expect(await Promise.all(raw.map((k) => h.object(k)))).toEqual([body]);
  });

  it.each([
    ['1e200', 'pc-1e200'],
    ['5e-324', 'pc-5e-324'],
    ['0.100000000000000000000000000000000000000001', 'pc-42-digits'],
  ])('keeps %s, which DynamoDB cannot hold as a number, as the text sent', async (number, callId) => {
    const body = withRaw(postCall(callId, { callAnalysis: { value: '@@n@@', score: 85 } }), { n: number });
    const item = await stored(number, 'postcall', callId, body);
    expect(item.analysis).toEqual({ value: number, score: 85 });
  });

  it('makes lone surrogates well-formed so the item can be written', async () => {
    const body = withRaw(
      postCall('pc-surrogates', { callAnalysis: { summary: '@@s@@', mood: '@@m@@' }, callerDetails: { name: '@@n@@' } }),
      {
        s: '"before \\ud800 after"',
        m: '"\\udfff"',
        n: '"Jo\\ud83d"',
      },
    );
    const item = await stored('lone surrogates', 'postcall', 'pc-surrogates', body);
    const analysis = item.analysis as Record<string, string>;
    expect(analysis.summary).toBe('before \uFFFD after');
    expect(analysis.mood).toBe('\uFFFD');
    expect((item.caller as Record<string, string>).name).toBe('Jo\uFFFD');
  });

  it('moves a 450 KB callAnalysis to S3, the item keeping a pointer to byte-identical JSON', async () => {
    const analysis = {
      summary: 'long call',
      transcript: Array.from({ length: 9000 }, (_, i) => `turn ${i}: ${'word '.repeat(9)}`),
      score: 85,
    };
    const text = JSON.stringify(analysis);
    expect(Buffer.byteLength(text)).toBeGreaterThan(450 * 1024);
    const item = await stored(
      '450 KB analysis',
      'postcall',
      'pc-oversized',
      JSON.stringify(postCall('pc-oversized', { callAnalysis: analysis })),
    );
    const pointer = item.analysis as ExtrasPointer;
    expect(pointer).toMatchObject({ oversized: true, bytes: Buffer.byteLength(text), sha256: sha256(text) });
    expect(pointer.s3Key).toMatch(/^extras\/postcall\/.+\/pc-oversized\/analysis-[0-9a-f]{16}\.json$/);
    const object = await h.object(pointer.s3Key);
    expect(object).toBe(text);
    expect(sha256(object)).toBe(pointer.sha256);
    // The small caller details stay on the item.
    expect(item.caller).toMatchObject({ name: 'John Smith' });
  });

  it('keeps a 3,000-character post-call "number" as customerNumberAsSent, not as an index key', async () => {
    const bogus = `+44${'7'.repeat(2997)}`;
    const item = await stored(
      '3,000-character customer number',
      'postcall',
      'pc-long-number',
      JSON.stringify(postCall('pc-long-number', { callerDetails: { name: 'X', phoneNumber: bogus } })),
    );
    expect(item).not.toHaveProperty('customerNumber');
    expect(typeof item.customerNumberAsSent).toBe('string');
    expect(bogus.startsWith(item.customerNumberAsSent as string)).toBe(true);
    expect((item.customerNumberAsSent as string).length).toBeGreaterThan(16);
    // Still in the by-day index.
    expect(item.day).toBe((item.callAt as string).slice(0, 10));
  });

  it('keeps a 3,000-character Hipcall caller number as customerNumberAsSent, not as an index key', async () => {
    const bogus = '9'.repeat(3000);
    const body = JSON.stringify({
      event: 'call_hangup',
      data: {
        uuid: 'hc-long-number',
        direction: 'inbound',
        caller_number: bogus,
        callee_number: '+441234567890',
        started_at: '2026-04-02T10:00:00Z',
        ended_at: '2026-04-02T10:00:45Z',
        call_duration: 45,
      },
    });
    const item = await stored('3,000-character caller number', 'hipcall', 'hc-long-number', body);
    expect(item).not.toHaveProperty('customerNumber');
    expect(bogus.startsWith(item.customerNumberAsSent as string)).toBe(true);
    expect(bogus.startsWith(item.fromNumber as string)).toBe(true);
    expect(item).toMatchObject({ toNumber: '+441234567890', durationSec: 45, day: '2026-04-02' });
  });

  it('reads a body that starts with a UTF-8 byte order mark', async () => {
    const json = JSON.stringify(postCall('pc-bom', { callerDetails: { name: 'Jane', phoneNumber: '+44 20 4520 5757' } }));
    const item = await stored(
      'UTF-8 BOM',
      'postcall',
      'pc-bom',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json, 'utf8')]),
    );
    expect(item).toMatchObject({ customerNumber: '+442045205757', status: 'completed' });
  });

  it('does not let a Hipcall delivery fix startedAt at 1970 or endedAt at 9999', async () => {
    const before = new Date().toISOString();
    const body = JSON.stringify({
      event: 'call_hangup',
      data: {
        uuid: 'hc-bad-times',
        direction: 'inbound',
        caller_number: '+442045205757',
        callee_number: '+441234567890',
        started_at: '1970-01-01T00:00:00Z',
        ended_at: '9999-12-31T23:59:59Z',
        call_duration: 45,
      },
    });
    const item = await stored('1970 and 9999', 'hipcall', 'hc-bad-times', body);
    expect(item).not.toHaveProperty('startedAt');
    expect(item).not.toHaveProperty('endedAt');
    expect(JSON.stringify(item)).not.toMatch(/1970-01-01|9999-12-31/);
    // Indexed by when it arrived instead.
    const callAt = item.callAt as string;
    expect(callAt >= before && callAt <= new Date().toISOString()).toBe(true);
  });

  it('leaves a rejected media map, with the reason, for an ftp:// link and a relative path', async () => {
    const item = await stored(
      'ftp and relative links',
      'postcall',
      'pc-bad-links',
      JSON.stringify(
        postCall('pc-bad-links', { recordingUri: 'ftp://files.example.com/rec.ogg', transcriptUri: '/transcripts/pc-bad-links.json' }),
      ),
    );
    expect(item.recording).toMatchObject({ state: 'rejected', error: expect.stringMatching(/"ftp" scheme/) });
    expect(item.transcript).toMatchObject({ state: 'rejected', error: expect.stringMatching(/not an absolute URL/) });
    expect((await h.receive('media', 100)).filter((m) => m.Body?.includes('pc-bad-links'))).toEqual([]);
  });
});

describe('hostile deliveries: ids that cannot be stored faithfully are refused and quarantined', () => {
  it.each([
    ['"."', '"."'],
    ['".."', '".."'],
    ['a lone surrogate', '"call-\\udc00"'],
    [`an id of ${MAX_CALL_ID_BYTES + 1} characters`, JSON.stringify('x'.repeat(MAX_CALL_ID_BYTES + 1))],
    [`an id over ${MAX_CALL_ID_BYTES} UTF-8 bytes`, JSON.stringify('通'.repeat(100))],
  ])('refuses the call id %s with a 400 and keeps the body in quarantine/', async (name, idJson) => {
    const body = withRaw(postCall('@@id@@'), { id: idJson });
    const { answer, quarantined } = await refused(`id ${name}`, 'postcall', body);
    expect(answer.status).toBe(400);
    expect(answer.json.message).toMatch(/call ?id|callId/i);
    expect(quarantined).toMatchObject({ source: 'postcall', status: 400, reason: answer.json.message, body });
    expect(await h.objects('raw/postcall/')).not.toContainEqual(expect.stringContaining(sha256(body).slice(0, 16)));
  });

  it('refuses them before they reach a key: no item for "." or ".." exists', async () => {
    expect(await h.item('postcall#.')).toBeUndefined();
    expect(await h.item('postcall#..')).toBeUndefined();
  });
});

describe('hostile deliveries: nothing for the replay queue', () => {
  it('queued none of them for a replay, and after the replay queue is driven it and its DLQ are empty', async () => {
    expect(answers.length).toBe(16);
    expect(answers.filter(({ answer }) => answer.status >= 500 || answer.json.status === 'queued').map(({ name }) => name)).toEqual([]);

    // The replay queue feeds the ingest function, as its event source does in AWS.
    const sqs = new SQSClient(localClientConfig(h.emulators.endpoints.sqs));
    const stop = startPoller({
      sqs,
      queueUrl: h.emulators.queues.replay,
      handler: handler as unknown as SqsHandler,
      name: 'replay',
      waitTimeSeconds: 1,
    });
    try {
      const deadline = Date.now() + 15_000;
      while ((await h.depth('replay')) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await stop();
      sqs.destroy();
    }
    expect(await h.depth('replay')).toBe(0);
    expect(await h.depth('replayDlq')).toBe(0);
  });

  it('refused only the deliveries with ids that cannot be stored', () => {
    const refusedNames = answers.filter(({ answer }) => answer.status >= 400).map(({ name }) => name);
    expect(refusedNames).toHaveLength(5);
    expect(refusedNames.every((name) => name.startsWith('id '))).toBe(true);
  });
});
