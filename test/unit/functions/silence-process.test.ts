import { describe, expect, it } from 'vitest';
import { parseConfig } from '#contract/config-schema.ts';
import type { MetricDims } from '#core/ports/metrics.ts';
import type { DeliveryHistory } from '#core/ports/delivery-history.ts';
import { checkSilence } from '#functions/silence/process.ts';
import { match } from '#test/support/match.ts';

const config = parseConfig({
  sources: [
    { id: 'hipcall', provider: 'hipcall', silence: { minutes: 60, days: 'Mon-Fri', hours: '08:00-18:00', timeZone: 'Europe/Istanbul' } },
    { id: 'night', provider: 'callhippo', silence: { minutes: 30, days: 'Mon-Fri', hours: '22:00-06:00', timeZone: 'Europe/Istanbul' } },
    { id: 'postcall', provider: 'postcall' },
  ],
});

class FakeHistory implements DeliveryHistory {
  readonly asked: { source: string; since: string; until: string }[] = [];
  constructor(private readonly last: Record<string, string | Error | undefined>) {}
  lastDeliveryAt(source: string, since: Date, until: Date) {
    this.asked.push({ source, since: since.toISOString(), until: until.toISOString() });
    const v = this.last[source];
    if (v instanceof Error) return Promise.reject(v);
    return Promise.resolve(v === undefined ? undefined : new Date(v));
  }
}

function run(nowIso: string, history: FakeHistory) {
  const counted: { name: string; dims: MetricDims | undefined; value: number | undefined }[] = [];
  const logged: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => void logged.push({ level, message, fields });
  const deps = {
    config,
    history,
    metrics: {
      count: (name: string, dims?: MetricDims, value?: number) => void counted.push({ name, dims, value }),
      measure: () => undefined,
    },
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    now: () => Date.parse(nowIso),
  };
  return { result: checkSilence(deps), counted, logged };
}

describe('checkSilence', () => {
  it('publishes SourceSilent 1 for a quiet source inside its hours and 0 for one outside, and skips sources without silence config', async () => {
    // Friday 12:00 in Istanbul: the day source is open, the night source closed.
    const history = new FakeHistory({});
    const { result, counted } = run('2026-11-27T09:00:00Z', history);
    expect(await result).toEqual([
      { source: 'hipcall', silent: true },
      { source: 'night', silent: false },
    ]);
    expect(counted).toEqual([
      { name: 'SourceSilent', dims: { source: 'hipcall' }, value: 1 },
      { name: 'SourceSilent', dims: { source: 'night' }, value: 0 },
    ]);
    expect(history.asked.map((a) => a.source)).not.toContain('postcall');
  });

  it('asks for exactly the last N minutes of each source', async () => {
    const history = new FakeHistory({});
    await run('2026-11-27T09:00:00Z', history).result;
    expect(history.asked).toEqual([
      { source: 'hipcall', since: '2026-11-27T08:00:00.000Z', until: '2026-11-27T09:00:00.000Z' },
      { source: 'night', since: '2026-11-27T08:30:00.000Z', until: '2026-11-27T09:00:00.000Z' },
    ]);
  });

  it('is not silent when the source delivered within the last N minutes', async () => {
    const { result, counted } = run('2026-11-27T09:00:00Z', new FakeHistory({ hipcall: '2026-11-27T08:10:00Z' }));
    expect((await result)[0]).toEqual({ source: 'hipcall', silent: false, lastDeliveryAt: '2026-11-27T08:10:00.000Z' });
    expect(counted[0]?.value).toBe(0);
  });

  it('does not alarm on Saturday', async () => {
    const { result, counted } = run('2026-11-28T09:00:00Z', new FakeHistory({}));
    expect((await result).every((v) => !v.silent)).toBe(true);
    expect(counted.map((c) => c.value)).toEqual([0, 0]);
  });

  it('publishes no verdict for a source whose history cannot be read, counts SilenceCheckFailed for it, logs why, and still checks the others', async () => {
    const { result, counted, logged } = run(
      '2026-11-27T09:00:00Z',
      new FakeHistory({ hipcall: Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }) }),
    );
    expect(await result).toEqual([{ source: 'night', silent: false }]);
    // The failure is the alarm's to tell: the source's own silence alarm cannot see anything this round.
    expect(counted).toEqual([
      { name: 'SilenceCheckFailed', dims: { source: 'hipcall' }, value: undefined },
      { name: 'SourceSilent', dims: { source: 'night' }, value: 0 },
    ]);
    expect(logged).toContainEqual(
      match.objectContaining({ level: 'error', fields: match.objectContaining({ source: 'hipcall', error: 'ThrottlingException' }) }),
    );
  });
});
