import { beforeAll, describe, expect, it } from 'vitest';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { DEFAULT_DURATIONS } from '#bin/cli/cost/durations.ts';
import { estimateCost, type CostInputs } from '#bin/cli/cost/model.ts';
import { PRICES } from '#bin/cli/cost/prices.ts';
import { readProfile } from '#bin/cli/cost/profile.ts';
import { settingsOfStack, synthStack, type StackSettings } from '#bin/cli/cost/stack-settings.ts';
import { match } from '#test/support/match.ts';

const inputs: CostInputs = {
  callsPerMonth: 100_000,
  avgRecordingMb: 1,
  shareWithRecording: 0.7,
  monthsKept: 12,
  sources: 3,
  partSizeBytes: 8 * 1024 * 1024,
};

describe('callvault cost on the synthesised stack', () => {
  let base: StackSettings;
  beforeAll(() => {
    base = settingsOfStack(synthStack());
  }, 60_000);

  it('charges more for the media worker when its memory is raised in the stack', async () => {
    const profile = await readProfile();
    const stack = synthStack();
    const media = stack.node
      .findAll()
      .find((c) => c instanceof CfnFunction && c.node.path.endsWith('MediaPipeline/Worker/Resource')) as CfnFunction;
    media.memorySize = (media.memorySize ?? 256) * 4;
    const bigger = settingsOfStack(stack);
    expect(bigger.functions.media!.memoryMb).toBe(base.functions.media!.memoryMb * 4);
    const before = estimateCost(base, profile, DEFAULT_DURATIONS, PRICES, inputs);
    const after = estimateCost(bigger, profile, DEFAULT_DURATIONS, PRICES, inputs);
    expect(after.byService.Lambda!).toBeGreaterThan(before.byService.Lambda!);
    expect(after.total - before.total).toBeCloseTo(after.byService.Lambda! - before.byService.Lambda!, 10);
  }, 60_000);

  it('reads memory, concurrency, queues and lifecycle from the template, not from constants', () => {
    const s = base;
    expect(Object.keys(s.functions).sort()).toEqual(match.arrayContaining(['ingest', 'insight', 'media']));
    expect(s.functions.ingest!.architecture).toBe('arm64');
    expect(s.queueConsumers.map((q) => q.fn).sort()).toEqual(['ingest', 'insight', 'media']);
    expect(s.archive.tiers['recordings/']!.map((t) => t.storageClass)).toEqual(['STANDARD_IA', 'GLACIER_IR']);
    expect(s.callsTable.gsis).toBe(2);
  });
});
