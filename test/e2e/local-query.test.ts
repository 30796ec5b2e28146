/**
 * `callvault query --local` against the local stack (npm start) as a user runs it: a Hipcall call posted
 * over HTTP, its recording fetched from the local demo media server by the real media worker, which writes
 * the call's cdr/ row; then the CLI, as a child process, answers SQL over it with --json.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { localClientConfig } from '#bin/local/emulators.ts';
import { hipcallHangup } from '#test/support/ingest-harness.ts';
import { projectRoot, startLocalStackProcess, type LocalStackProcess } from '#test/support/local-stack-process.ts';

describe('callvault query --local against the local stack', () => {
  let stack: LocalStackProcess;
  let s3: S3Client;
  beforeAll(async () => {
    const sources = [{ id: 'hipcall', provider: 'hipcall', mediaHostAllowlist: ['127.0.0.1'] }];
    stack = await startLocalStackProcess({
      CALLVAULT_MEDIA_DELAY_SECONDS: '0',
      CALLVAULT_CONFIG: JSON.stringify({ defaultCountry: 'GB', sources }),
    });
    s3 = new S3Client(localClientConfig(stack.endpoints.s3));
  }, 60_000);
  afterAll(async () => {
    s3?.destroy();
    await stack?.stop();
  });

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'bin/callvault.ts', ...args], {
      cwd: projectRoot,
      encoding: 'utf8',
      env: { ...process.env, CALLVAULT_DATA_DIR: stack.dataDir },
      timeout: 60_000,
    });

  it('answers SQL over the cdr/ row the media worker wrote for a call posted over HTTP', async () => {
    const body = JSON.parse(hipcallHangup('e2e-query-1')) as { data: Record<string, unknown> };
    body.data.record_url = `${stack.endpoints.demoMedia}/recordings/e2e-query-1.mp3?kb=16`;
    const url = stack.endpoints.sources.find((s) => s.id === 'hipcall')!.url;
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);

    // The worker stores the recording, then writes the ended call's row to cdr/.
    const key = 'cdr/hipcall/2026/04/02/e2e-query-1.json';
    const until = Date.now() + 30_000;
    let found = false;
    while (!found && Date.now() < until) {
      const { Contents } = await s3.send(new ListObjectsV2Command({ Bucket: stack.endpoints.bucket, Prefix: key }));
      found = (Contents ?? []).some((o) => o.Key === key);
      if (!found) await new Promise((r) => setTimeout(r, 250));
    }
    expect(found).toBe(true);

    const run = cli(
      'query',
      "SELECT provider, day, call_id, direction, customer_number, recording_stored, recording_bytes FROM calls WHERE call_id = 'e2e-query-1'",
      '--local',
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([
      {
        provider: 'hipcall',
        day: '2026/04/02',
        call_id: 'e2e-query-1',
        direction: 'inbound',
        customer_number: '+442045205757',
        recording_stored: true,
        recording_bytes: 16 * 1024,
      },
    ]);
  }, 90_000);
});
