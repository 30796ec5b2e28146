/**
 * `npm start`, then `npm run demo -- --once`, then the deliveries the demo does not make (a repeat, a
 * non-call event, another source's call, refusals, an unmatched and a stale call_init, a refused media
 * link): every metric they decide must be in the local stack's metrics.log as CloudWatch EMF.
 *
 * The rest is produced in integration tests, where a fault can be injected: DeliveryQueuedForReplay,
 * DeliveryUnapplied, ReplayApplied (ingest-metrics), MediaExpired and MediaFailed (media-worker),
 * InsightFailed (insight-worker).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC, METRICS_NAMESPACE, type MetricName } from '#core/metrics.ts';
import { METRICS_LOG } from '#bin/local/stack.ts';
import { filedBySourceAndTotal, readEmfFile, type EmfMetric } from '#test/support/emf.ts';
import { fixture, hipcallHangup } from '#test/support/ingest-harness.ts';
import { projectRoot, startLocalStackProcess, type LocalStackProcess } from '#test/support/local-stack-process.ts';

/** Run the demo as a user does, against the stack's endpoints.json; resolves with its exit code and output. */
function runDemo(dataDir: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/demo.ts', '--once', '--timeout=90'], { cwd: projectRoot, env: { ...process.env, CALLVAULT_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
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

  beforeAll(async () => {
    // Two Hipcall sources, so a call one owns can be delivered through the other (DeliveryIgnored).
    const sources = [
      { id: 'hipcall', provider: 'hipcall', mediaHostAllowlist: ['127.0.0.1'] },
      { id: 'hipcall-b', provider: 'hipcall', mediaHostAllowlist: ['127.0.0.1'] },
      { id: 'callhippo', provider: 'callhippo', mediaHostAllowlist: ['127.0.0.1'] },
      { id: 'postcall', provider: 'postcall', mediaHostAllowlist: ['127.0.0.1'] },
    ];
    stack = await startLocalStackProcess({ CALLVAULT_MEDIA_DELAY_SECONDS: '1', CALLVAULT_CONFIG: JSON.stringify({ defaultCountry: 'US', sources }) });
    log = join(stack.dataDir, METRICS_LOG);
  }, 90_000);
  afterAll(async () => stack?.stop());

  it('says at start where the metrics go, and keeps them off the console', () => {
    expect(stack.output()).toContain(log);
    expect(stack.output()).not.toContain('"_aws"');
  });

  it('finds every metric the demo and the extra deliveries decide in metrics.log, by source and in total', async () => {
    const demo = await runDemo(stack.dataDir);
    expect(demo.code, demo.out).toBe(0);

    // A repeat, a non-call event, another source's call, a wrong token and a body that is not JSON.
    expect((await post('hipcall', fixture('hipcall/call_hangup.json'))).json.status).toBe('stored');
    expect((await post('hipcall', fixture('hipcall/call_hangup.json'))).json.status).toBe('duplicate');
    expect((await post('hipcall', fixture('hipcall/task_create.json'))).json.status).toBe('archived');
    expect((await post('hipcall-b', fixture('hipcall/call_hangup.json'))).json.status).toBe('ignored');
    expect((await fetch(url('callhippo').replace(/[^/]+$/, 'not-the-token'), { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await post('postcall', 'not json')).status).toBe(400);
    // A call_init from a number no contact has, and one from long ago: no card, and a card too late to show.
    const init = (uuid: string, caller: string, at: Date) => {
      const seconds = Math.floor(at.getTime() / 1000);
      return JSON.stringify({
        event: 'call_init',
        data: { uuid, direction: 'inbound', caller_number: caller, callee_number: '+441234567890', started_at: at.toISOString(), call_flow: [{ action: 'init', detail: { id: null, type: 'contact' }, timestamp: seconds }] },
      });
    };
    expect((await post('hipcall', init('metrics-no-match', '+12025550143', new Date()))).status).toBe(200);
    expect((await post('hipcall', init('metrics-stale', '+442045205757', new Date(Date.now() - 3_600_000)))).status).toBe(200);
    // A recording link on a host the source does not allow: refused without a fetch.
    const refused = JSON.parse(hipcallHangup('metrics-refused-link')) as { data: Record<string, unknown> };
    refused.data.record_url = 'http://10.20.30.40/recordings/metrics-refused-link.mp3';
    expect((await post('hipcall', JSON.stringify(refused))).json.status).toBe('stored');

    const expected: [MetricName, string | undefined, string?][] = [
      [METRIC.deliveryStored, 'hipcall'],
      [METRIC.deliveryStored, 'callhippo'],
      [METRIC.deliveryStored, 'postcall'],
      [METRIC.deliveryDuplicate, 'hipcall'],
      [METRIC.deliveryArchived, 'hipcall'],
      [METRIC.deliveryIgnored, 'hipcall-b'],
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
    ];
    const has = (ms: EmfMetric[], [name, source, status]: (typeof expected)[number]) =>
      ms.some((m) => m.name === name && m.namespace === METRICS_NAMESPACE && filedBySourceAndTotal(m, source) && (status === undefined || m.fields.status === status));
    const metrics = await metricsWhen(log, (ms) => expected.every((e) => has(ms, e)));
    const missing = expected.filter((e) => !has(metrics, e)).map((e) => e.join(' '));
    expect(missing, `metrics.log:\n${metrics.map((m) => `${m.name} ${JSON.stringify(m.fields.source)}`).join('\n')}`).toEqual([]);

    const units = new Map(metrics.map((m) => [m.name, m.unit]));
    expect(units.get(METRIC.mediaBytes)).toBe('Bytes');
    expect(units.get(METRIC.mediaHangupToStoredSeconds)).toBe('Seconds');
    expect(units.get(METRIC.insightCallInitToCardMs)).toBe('Milliseconds');
    expect(units.get(METRIC.deliveryStored)).toBe('Count');
    // A refusal carries its status in both dimension sets.
    const refusal = metrics.find((m) => m.name === METRIC.deliveryRefused && m.fields.status === '400')!;
    expect(refusal.dimensionSets).toEqual([['source', 'status'], ['status']]);
  }, 240_000);
});
