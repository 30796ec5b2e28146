/**
 * `npm run bench -- fault`: the fault scenarios of test/fault, run once each, with their figures (time
 * to recover, deliveries answered, applied or stored) written to .callvault/bench/fault.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runDynamoOutage } from '#test/fault/dynamo-outage.ts';
import { runHipcallDown } from '#test/fault/hipcall-down.ts';
import { runS3Outage, runSlowServer, runWorkerKilled } from '#test/fault/media-faults.ts';
import type { BenchRow } from './stats.ts';

export async function runFaultBench(outDir = join(process.env.CALLVAULT_DATA_DIR ?? '.callvault', 'bench')): Promise<BenchRow[]> {
  const dynamo = await runDynamoOutage({ calls: 100, concurrency: 8 });
  const s3 = await runS3Outage({ recordings: 3, sizeMiB: 12 });
  const killed = await runWorkerKilled({ sizeMiB: 16 });
  const slow = await runSlowServer({ sizeMiB: 64 });
  const reset = await runHipcallDown('reset', { calls: 5 });
  const unavailable = await runHipcallDown('503', { calls: 5 });
  const report = { at: new Date().toISOString(), dynamo, s3, killed, slow, hipcall: { reset, unavailable } };
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'fault.json'), `${JSON.stringify(report, null, 2)}\n`);

  const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  const row = (name: string, value: number, unit: string, goal: string, pass: boolean): BenchRow => ({ name, value, unit, goal, pass });
  return [
    row(
      'fault: DynamoDB down, answered 2xx',
      dynamo.answered2xx,
      `of ${dynamo.deliveries}`,
      'all',
      dynamo.answered2xx === dynamo.deliveries,
    ),
    row('fault: DynamoDB down, applied after', dynamo.applied, `of ${dynamo.calls}`, 'all', dynamo.applied === dynamo.calls),
    row('fault: DynamoDB down, time to recover', dynamo.recoverMs, 'ms', 'reported', true),
    row(
      'fault: S3 down, stored whole',
      s3.storedWhole,
      `of ${s3.recordings}`,
      'all, 0 uploads open',
      s3.storedWhole === s3.recordings && s3.openUploads === 0,
    ),
    row('fault: S3 down, time to recover', s3.recoverMs, 'ms', 'reported', true),
    row(
      'fault: worker killed, stored whole',
      killed.storedWhole,
      `of ${killed.recordings}`,
      'all',
      killed.storedWhole === killed.recordings,
    ),
    row('fault: worker killed, time to recover', killed.recoverMs, 'ms', 'reported (includes the visibility timeout)', true),
    row('fault: slow server, stored whole', slow.storedWhole, `of ${slow.recordings}`, 'all', slow.storedWhole === slow.recordings),
    row(
      'fault: slow server, buffers held after GC (peak growth)',
      mib(slow.peakLiveArrayBuffersGrowth),
      'MiB',
      `< ${mib(slow.bodyBytes / 2)} (half the body)`,
      slow.peakLiveArrayBuffersGrowth < slow.bodyBytes / 2,
    ),
    row('fault: slow server, peak RSS growth (garbage included)', mib(slow.peakRssGrowth), 'MiB', 'reported', true),
    ...[reset, unavailable].map((h) =>
      row(
        `fault: Hipcall API ${h.mode}, requests`,
        h.requests,
        `for ${h.calls} calls`,
        `<= ${h.allowed}, all failed`,
        h.requests <= h.allowed && h.outcomes.every((o) => o === 'failed'),
      ),
    ),
  ];
}
