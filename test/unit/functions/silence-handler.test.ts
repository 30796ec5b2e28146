import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { EmfMetrics } from '#adapters/metrics.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { createSilenceHandler } from '#functions/silence/handler.ts';

const config = parseConfig({
  sources: [
    { id: 'hipcall', provider: 'hipcall', silence: { minutes: 60, days: 'Mon-Fri', hours: '08:00-18:00', timeZone: 'Europe/Istanbul' } },
    { id: 'callhippo', provider: 'callhippo' },
  ],
});

const event = {
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  time: '2026-11-27T09:00:00Z',
  detail: {},
} as unknown as ScheduledEvent;
const context = { functionName: 'silence', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
const quietLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('the silence handler', () => {
  it('answers the verdicts and flushes SourceSilent as EMF under the source and the total', async () => {
    const lines: string[] = [];
    const metrics = new EmfMetrics('callvault-silence', (line) => lines.push(line));
    const handler = createSilenceHandler({
      deps: {
        config,
        history: { lastDeliveryAt: () => Promise.resolve(undefined) },
        metrics,
        log: quietLog,
        now: () => Date.parse('2026-11-27T09:00:00Z'),
      },
      logger: new Logger({ serviceName: 'callvault-silence', logLevel: 'SILENT' }),
      metrics,
    });
    expect(await handler(event, context)).toEqual({ sources: [{ source: 'hipcall', silent: true }] });
    expect(lines).toHaveLength(1);
    const emf = JSON.parse(lines[0]!) as {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
      source: string;
      SourceSilent: number;
    };
    expect(emf.SourceSilent).toBe(1);
    expect(emf.source).toBe('hipcall');
    expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'CallVault', Metrics: [{ Name: 'SourceSilent' }] });
    expect(emf._aws.CloudWatchMetrics[0]!.Dimensions).toContainEqual(['source']);
  });

  it('publishes 0 outside working hours, so the alarm returns to OK overnight', async () => {
    const lines: string[] = [];
    const metrics = new EmfMetrics('callvault-silence', (line) => lines.push(line));
    const handler = createSilenceHandler({
      deps: {
        config,
        history: { lastDeliveryAt: () => Promise.resolve(undefined) },
        metrics,
        log: quietLog,
        now: () => Date.parse('2026-11-27T20:00:00Z'),
      },
      logger: new Logger({ serviceName: 'callvault-silence', logLevel: 'SILENT' }),
      metrics,
    });
    expect(await handler(event, context)).toEqual({ sources: [{ source: 'hipcall', silent: false }] });
    expect((JSON.parse(lines[0]!) as { SourceSilent: number }).SourceSilent).toBe(0);
  });
});
