/**
 * `npm start`, then `npm run demo -- --once`, then what the demo does not do: a repeat, a non-call
 * event, another source's call, refusals, an unmatched and a stale call_init, a refused media link, and
 * the faults the local stack can be given (DynamoDB down, DynamoDB and SQS down, a recording host that
 * refuses or whose link expired, a Hipcall API that refuses the card, a source gone quiet): every metric
 * CallVault names must be in the local stack's metrics.log as CloudWatch EMF.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC, METRICS_NAMESPACE, type MetricName } from '#core/metrics.ts';
import { METRICS_LOG, RECONCILE_PATH } from '#bin/local/stack.ts';
import { FAULTS_PATH } from '#bin/local/faults.ts';
import { SILENCE_CHECK_PATH } from '#bin/local/silence.ts';
import { filedBySourceAndTotal, readEmfFile, type EmfMetric } from '#test/support/emf.ts';
import { fixture, hipcallHangup } from '#test/support/ingest-harness.ts';
import { projectRoot, startLocalStackProcess, type LocalStackProcess } from '#test/support/local-stack-process.ts';
import { match } from '#test/support/match.ts';

/** Run the demo as a user does, against the stack's endpoints.json; resolves with its exit code and output. */
function runDemo(dataDir: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/demo.ts', '--once', '--timeout=90'], {
      cwd: projectRoot,
      env: { ...process.env, CALLVAULT_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

/** Poll the metrics log until `found` holds (workers flush after their invocation, a moment after the item says so). */
async function metricsWhen(path: string, found: (ms: EmfMetric[]) => boolean, timeoutMs = 60_000): Promise<EmfMetric[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const metrics = readEmfFile(path);
    if (found(metrics) || Date.now() > until) return metrics;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('local stack metrics (npm start + npm run demo)', () => {
  let stack: LocalStackProcess;
  let log: string;
  const url = (id: string) => stack.endpoints.sources.find((s) => s.id === id)!.url;
  const post = async (id: string, body: string) => {
    const res = await fetch(url(id), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    return { status: res.status, json: (await res.json()) as { status?: string } };
  };

  const local = (path: string, method: string, body?: unknown) =>
    fetch(`${stack.endpoints.api}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }).then(async (r) => ({
      status: r.status,
      json: (await r.json()) as Record<string, unknown>,
    }));
  // A recording host the test controls: /refuses/ answers 400 (no retry can fix it), /expired/ 403.
  let recordings: Server;
  let recordingHost: string;

  beforeAll(async () => {
    recordings = createServer((req, res) => {
      res.writeHead(req.url?.startsWith('/refuses/') ? 400 : 403, { 'content-type': 'text/plain' });
      res.end('no');
    });
    await new Promise<void>((ok) => recordings.listen(0, '127.0.0.1', ok));
    recordingHost = `127.0.0.1:${(recordings.address() as AddressInfo).port}`;
    // Two Hipcall sources, so a call one owns can be delivered through the other (DeliveryIgnored); and
    // a source that never delivers, watched all day every day, for the silence check.
    const sources = [
      {
        id: 'hipcall',
        provider: 'hipcall',
        mediaHostAllowlist: ['127.0.0.1'],
        hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3',
        reconcile: { everyMinutes: 60, lookBackHours: 1 },
      },
      { id: 'hipcall-b', provider: 'hipcall', mediaHostAllowlist: ['127.0.0.1'] },
      { id: 'callhippo', provider: 'callhippo', mediaHostAllowlist: ['127.0.0.1'] },
      { id: 'postcall', provider: 'postcall', mediaHostAllowlist: ['127.0.0.1'] },
      { id: 'quiet', provider: 'postcall', silence: { minutes: 10, days: 'Mon-Sun', hours: '00:00-24:00', timeZone: 'UTC' } },
    ];
    // A replay retries after 3 s instead of the deployed 60 (CALLVAULT_REPLAY_RETRY_SECONDS): the same path, sooner.
    stack = await startLocalStackProcess({
      CALLVAULT_MEDIA_DELAY_SECONDS: '1',
      CALLVAULT_REPLAY_RETRY_SECONDS: '3',
      CALLVAULT_FETCH_ALLOW: recordingHost,
      CALLVAULT_CONFIG: JSON.stringify({ defaultCountry: 'US', sources }),
    });
    log = join(stack.dataDir, METRICS_LOG);
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
    await new Promise((ok) => recordings?.close(ok));
  });

  it('says at start where the metrics go, and keeps them off the console', () => {
    expect(stack.output()).toContain(log);
    expect(stack.output()).not.toContain('"_aws"');
  });

  it('answers 2xx through outages it is given: the delivery waits on the replay queue, or in raw/ when SQS is down too', async () => {
    // First, so the replay's retry (the queue's visibility) runs while the demo does.
    expect((await local(FAULTS_PATH, 'POST', { services: ['dynamodb', 'sqs'], seconds: 30 })).json).toMatchObject({
      down: { dynamodb: match.any(Number), sqs: match.any(Number) },
    });
    const unapplied = await post('hipcall', hipcallHangup('metrics-unapplied'));
    expect([unapplied.status, unapplied.json.status]).toEqual([202, 'queued']);
    await local(FAULTS_PATH, 'DELETE');
    expect((await local(FAULTS_PATH, 'POST', { services: ['dynamodb'], seconds: 2 })).status).toBe(200);
    const queued = await post('hipcall', hipcallHangup('metrics-queued'));
    expect([queued.status, queued.json.status]).toEqual([202, 'queued']);
    // The outage ends by itself: the demo that follows must meet a working table.
    const until = Date.now() + 10_000;
    while (Object.keys((await local(FAULTS_PATH, 'GET')).json.down as object).length > 0) {
      if (Date.now() > until) throw new Error('the 2-second DynamoDB fault was still on after 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    // A fault request that names no service is refused with a message, not applied.
    const bad = await local(FAULTS_PATH, 'POST', { services: ['kinesis'], seconds: 2 });
    expect([bad.status, String(bad.json.message)]).toEqual([400, match.stringContaining('"services"')]);
  });

  it('finds every metric CallVault names in metrics.log, by source and in total', async () => {
    const demo = await runDemo(stack.dataDir);
    expect(demo.code, demo.out).toBe(0);

    // A repeat, a non-call event, another source's call, a wrong token and a body that is not JSON.
    expect((await post('hipcall', fixture('hipcall/call_hangup.json'))).json.status).toBe('stored');
    expect((await post('hipcall', fixture('hipcall/call_hangup.json'))).json.status).toBe('duplicate');
    expect((await post('hipcall', fixture('hipcall/task_create.json'))).json.status).toBe('archived');
    expect((await post('hipcall-b', fixture('hipcall/call_hangup.json'))).json.status).toBe('ignored');
    expect((await fetch(url('callhippo').replace(/[^/]+$/, 'not-the-token'), { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await post('postcall', 'not json')).status).toBe(400);
    // A CallHippo body with a call id and nothing else CallVault recognises: stored, with a warning.
    expect((await post('callhippo', JSON.stringify({ callSid: 'metrics-unrecognised' }))).json).toMatchObject({
      status: 'stored',
      warnings: [match.stringContaining('No call fields were recognised')],
    });
    // A call_init from a number no contact has, and one from long ago: no card, and a card too late to show.
    const init = (uuid: string, caller: string, at: Date) => {
      const seconds = Math.floor(at.getTime() / 1000);
      return JSON.stringify({
        event: 'call_init',
        data: {
          uuid,
          direction: 'inbound',
          caller_number: caller,
          callee_number: '+441234567890',
          started_at: at.toISOString(),
          call_flow: [{ action: 'init', detail: { id: null, type: 'contact' }, timestamp: seconds }],
        },
      });
    };
    expect((await post('hipcall', init('metrics-no-match', '+12025550143', new Date()))).status).toBe(200);
    expect((await post('hipcall', init('metrics-stale', '+442045205757', new Date(Date.now() - 3_600_000)))).status).toBe(200);
    // A recording link on a host the source does not allow: refused without a fetch.
    const refused = JSON.parse(hipcallHangup('metrics-refused-link')) as { data: Record<string, unknown> };
    refused.data.record_url = 'http://10.20.30.40/recordings/metrics-refused-link.mp3';
    expect((await post('hipcall', JSON.stringify(refused))).json.status).toBe('stored');
    // Recordings the host refuses for good (400) and whose link has expired (403 after its Expires).
    const withRecording = (callId: string, url: string) =>
      JSON.stringify({ ...(JSON.parse(fixture('postcall/post_call_minimal.json')) as object), callId, recordingUri: url });
    const expiredAt = Math.floor(Date.now() / 1000) - 60;
    expect((await post('postcall', withRecording('metrics-media-failed', `http://${recordingHost}/refuses/a.ogg`))).json.status).toBe(
      'stored',
    );
    expect(
      (await post('postcall', withRecording('metrics-media-expired', `http://${recordingHost}/expired/b.ogg?Expires=${expiredAt}`))).json
        .status,
    ).toBe('stored');
    // The Hipcall API refuses the next card (a token that was never replaced answers 401).
    expect(
      (
        await fetch(`${stack.endpoints.hipcallMock}/_faults`, {
          method: 'POST',
          body: JSON.stringify({ status: 401, count: 1, message: 'Unauthenticated' }),
        })
      ).status,
    ).toBeLessThan(300);
    expect((await post('hipcall', init('metrics-card-refused', '+442045205757', new Date()))).status).toBe(200);
    // The scheduled functions' own failures: a silence check that cannot read CloudWatch (here, its stand-in),
    // and a reconcile run, on demand as its schedule runs it (a clean run counts ReconcileFailed 0).
    expect((await local(FAULTS_PATH, 'POST', { services: ['cloudwatch'], seconds: 30 })).status).toBe(200);
    expect((await local(SILENCE_CHECK_PATH, 'POST')).json).toEqual({ sources: [] });
    await local(FAULTS_PATH, 'DELETE');
    const reconciled = await local(RECONCILE_PATH, 'POST');
    expect(reconciled.json).toMatchObject({ sources: [{ source: 'hipcall', errors: 0 }] });

    const expected: [MetricName, string | undefined, string?][] = [
      [METRIC.deliveryStored, 'hipcall'],
      [METRIC.deliveryStored, 'callhippo'],
      [METRIC.deliveryStored, 'postcall'],
      [METRIC.deliveryDuplicate, 'hipcall'],
      [METRIC.deliveryArchived, 'hipcall'],
      [METRIC.deliveryIgnored, 'hipcall-b'],
      [METRIC.deliveryUnrecognised, 'callhippo'],
      [METRIC.deliveryRefused, 'callhippo', '404'],
      [METRIC.deliveryRefused, 'postcall', '400'],
      [METRIC.mediaStored, 'hipcall'],
      [METRIC.mediaStored, 'callhippo'],
      [METRIC.mediaStored, 'postcall'],
      [METRIC.mediaBytes, 'hipcall'],
      [METRIC.mediaHangupToStoredSeconds, 'postcall'],
      [METRIC.mediaRejected, 'hipcall'],
      [METRIC.insightSent, 'hipcall'],
      [METRIC.insightCallInitToCardMs, 'hipcall'],
      [METRIC.insightNoMatch, 'hipcall'],
      [METRIC.insightStale, 'hipcall'],
      [METRIC.insightFailed, 'hipcall'],
      [METRIC.mediaFailed, 'postcall'],
      [METRIC.mediaExpired, 'postcall'],
      [METRIC.deliveryQueuedForReplay, 'hipcall'],
      [METRIC.deliveryUnapplied, 'hipcall'],
      [METRIC.replayApplied, 'hipcall'],
      [METRIC.sourceSilent, 'quiet'],
      [METRIC.silenceCheckFailed, 'quiet'],
      [METRIC.reconcileFailed, 'hipcall'],
    ];
    const has = (ms: EmfMetric[], [name, source, status]: (typeof expected)[number]) =>
      ms.some(
        (m) =>
          m.name === name &&
          m.namespace === METRICS_NAMESPACE &&
          filedBySourceAndTotal(m, source) &&
          (status === undefined || m.fields.status === status),
      );
    // The silence check, on demand (the stack also runs it every minute): the source that never delivered is silent.
    const check = await local(SILENCE_CHECK_PATH, 'POST');
    expect(check.json).toEqual({ sources: [{ source: 'quiet', silent: true }] });
    // The replay lands after the replay queue's visibility timeout.
    const metrics = await metricsWhen(log, (ms) => expected.every((e) => has(ms, e)), 120_000);
    const missing = expected.filter((e) => !has(metrics, e)).map((e) => e.join(' '));
    expect(missing, `metrics.log:\n${metrics.map((m) => `${m.name} ${JSON.stringify(m.fields.source)}`).join('\n')}`).toEqual([]);

    const units = new Map(metrics.map((m) => [m.name, m.unit]));
    expect(units.get(METRIC.mediaBytes)).toBe('Bytes');
    expect(units.get(METRIC.mediaHangupToStoredSeconds)).toBe('Seconds');
    expect(units.get(METRIC.insightCallInitToCardMs)).toBe('Milliseconds');
    expect(units.get(METRIC.deliveryStored)).toBe('Count');
    // A refusal carries its status in both dimension sets; a configured source's is in the total (the alarm's series) too.
    const refusal = metrics.find((m) => m.name === METRIC.deliveryRefused && m.fields.status === '400')!;
    expect(refusal.dimensionSets).toEqual([['source', 'status'], ['status'], []]);
    // Every metric CallVault names was found.
    expect(Object.values(METRIC).filter((name) => !expected.some(([n]) => n === name))).toEqual([]);
    // The source that never delivered is silent (1); and only sources with silence config are checked.
    expect(metrics.filter((m) => m.name === METRIC.sourceSilent).map((m) => [m.fields.source, m.values[0]])).toContainEqual(['quiet', 1]);
    expect(new Set(metrics.filter((m) => m.name === METRIC.sourceSilent).map((m) => m.fields.source))).toEqual(new Set(['quiet']));
  }, 300_000);
});
