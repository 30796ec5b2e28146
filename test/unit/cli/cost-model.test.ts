import { describe, expect, it } from 'vitest';
import { DEFAULT_DURATIONS } from '#bin/cli/cost/durations.ts';
import { estimateCost, ESM_POLLS_PER_MONTH, type CostInputs } from '#bin/cli/cost/model.ts';
import { PRICES } from '#bin/cli/cost/prices.ts';
import type { RequestProfile } from '#bin/cli/cost/profile.ts';
import { runsPerMonth, type StackSettings } from '#bin/cli/cost/stack-settings.ts';

const fn = (name: string, memoryMb: number) => ({
  name,
  memoryMb,
  timeoutSeconds: 900,
  architecture: 'arm64' as const,
  environment: {},
  secretsRead: 0,
});
const settings = (over: Partial<StackSettings> = {}): StackSettings => ({
  functions: { ingest: fn('ingest', 512), media: fn('media', 256), insight: fn('insight', 256) },
  queueConsumers: [{ fn: 'media', batchSize: 1 }],
  queues: 2,
  alarms: 0,
  dashboards: 0,
  secrets: 0,
  kmsKeys: 0,
  schedules: [],
  callsTable: { gsis: 0, pitr: false, ttl: false },
  archive: { tiers: {}, expireDays: {}, versioned: false, bucketKey: false },
  athena: { workgroups: 0, glueTables: 0 },
  ...over,
});
const profile: RequestProfile = {
  call: 'test',
  recordingBytes: 1024,
  functions: {
    ingest: {
      invocations: 2,
      requests: { 'dynamodb:UpdateItem': 2, 's3:PutObject': 2, 'sqs:SendMessage': 1 },
      s3PutsByPrefix: { 'raw/': 2 },
    },
    media: { invocations: 1, requests: { 's3:PutObject': 1 }, s3PutsByPrefix: { 'recordings/': 1 } },
    insight: { invocations: 0, requests: {}, s3PutsByPrefix: {} },
  },
  itemBytes: 1000,
  storedBytesByPrefix: { 'raw/': 1000 },
  emf: { bytes: 0, metrics: [] },
};
const inputs: CostInputs = {
  callsPerMonth: 1_000_000,
  avgRecordingMb: 1,
  shareWithRecording: 1,
  monthsKept: 12,
  sources: 1,
  partSizeBytes: 8 * 1024 * 1024,
};
const line = (e: ReturnType<typeof estimateCost>, start: string) => e.lines.find((l) => l.item.startsWith(start));

describe('estimateCost', () => {
  it('bills the recorded writes on the item size and once more per index', () => {
    const plain = estimateCost(settings(), profile, DEFAULT_DURATIONS, PRICES, inputs);
    const indexed = estimateCost(
      settings({ callsTable: { gsis: 2, pitr: false, ttl: false } }),
      profile,
      DEFAULT_DURATIONS,
      PRICES,
      inputs,
    );
    expect(line(plain, 'writes')!.quantity).toBe(2_000_000);
    expect(line(indexed, 'writes')!.quantity).toBe(6_000_000);
  });

  it('uploads a recording larger than a part in parts, each a PUT', () => {
    const small = estimateCost(settings(), profile, DEFAULT_DURATIONS, PRICES, inputs);
    const big = estimateCost(settings(), profile, DEFAULT_DURATIONS, PRICES, { ...inputs, avgRecordingMb: 20 });
    expect(line(small, 'PUT')!.quantity).toBe(3_000_000);
    // 20 MB in 8 MiB parts: create + 3 parts + complete instead of one PutObject.
    expect(line(big, 'PUT')!.quantity).toBe(7_000_000);
  });

  it('moves recordings to cheaper classes as the lifecycle rules say', () => {
    const tiers = { 'recordings/': [{ storageClass: 'STANDARD_IA', afterDays: 30 }] };
    const flat = estimateCost(settings(), profile, DEFAULT_DURATIONS, PRICES, inputs);
    const tiered = estimateCost(
      settings({ archive: { tiers, expireDays: {}, versioned: false, bucketKey: false } }),
      profile,
      DEFAULT_DURATIONS,
      PRICES,
      inputs,
    );
    // Twelve months kept, the eleven past their 30 days sit in Standard-IA: GB-months at its price.
    const iaGb = ((inputs.monthsKept - 1) * inputs.callsPerMonth * inputs.avgRecordingMb) / 1024;
    const ia = line(tiered, 'storage STANDARD_IA');
    expect(ia).toMatchObject({ service: 'S3', unit: PRICES.s3StandardIaGb.unit });
    expect(ia?.quantity).toBeCloseTo(iaGb, 6);
    expect(ia?.usd).toBeCloseTo(iaGb * PRICES.s3StandardIaGb.usd, 6);
    expect(tiered.byService.S3!).toBeLessThan(flat.byService.S3!);
  });

  it('charges the idle polls of every event source mapping even with no calls', () => {
    const e = estimateCost(settings(), profile, DEFAULT_DURATIONS, PRICES, { ...inputs, callsPerMonth: 0 });
    expect(line(e, 'event sources: empty')!.quantity).toBe(ESM_POLLS_PER_MONTH);
    expect(e.byService.Lambda ?? 0).toBe(0);
  });

  it('counts rate and cron schedules per 30-day month', () => {
    expect(runsPerMonth('rate(5 minutes)')).toBe(8640);
    expect(runsPerMonth('cron(0 * * * ? *)')).toBe(720);
    expect(() => runsPerMonth('every tuesday')).toThrow(/rate\(\.\.\.\) and cron/);
  });
});

describe('callvault cost arguments', () => {
  it('refuses a run without --calls-per-month, saying how to call it', async () => {
    const { costCommand } = await import('#bin/cli/cost.ts');
    const { CliError } = await import('#bin/cli/context.ts');
    await expect(costCommand([])).rejects.toThrow(CliError);
    await expect(costCommand([])).rejects.toThrow(/--calls-per-month is required/);
  });

  it('refuses a share of calls with a recording above 1', async () => {
    const { costCommand } = await import('#bin/cli/cost.ts');
    await expect(costCommand(['--calls-per-month', '10', '--share-with-recording', '1.5'])).rejects.toThrow(/between 0 and 1/);
  });
});

describe('callvault cost --config', () => {
  it('says which file it could not read', async () => {
    const { costCommand } = await import('#bin/cli/cost.ts');
    await expect(costCommand(['--calls-per-month', '10', '--config', '/nonexistent/callvault.json'])).rejects.toThrow(
      /Cannot read --config \/nonexistent\/callvault.json/,
    );
  });
});
