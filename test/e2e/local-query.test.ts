/**
 * `callvault query --local` against the local stack (npm start) as a user runs it: a Hipcall call posted
 * over HTTP, its recording fetched from the local demo media server by the real media worker, which writes
 * the call's cdr/ row; then the CLI, as a child process, answers SQL over it with --json. Every call that
 * reached a final state has its row, whatever became of its media: a recording rejected, one that failed,
 * a missed call, and a call the reconcile backfilled without a recording.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CDR_EXAMPLE_QUERIES } from '#core/cdr-schema.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { localClientConfig } from '#bin/local/emulators.ts';
import { hipcallHangup } from '#test/support/ingest-harness.ts';
import { projectRoot, startLocalStackProcess, type LocalStackProcess } from '#test/support/local-stack-process.ts';

describe('callvault query --local against the local stack', () => {
  let stack: LocalStackProcess;
  let s3: S3Client;
  // A recording host that refuses for good (400: no retry can fix it), so the worker ends the recording `failed`.
  let refusing: Server;
  beforeAll(async () => {
    refusing = createServer((_req, res) => res.writeHead(400, { 'content-type': 'text/plain' }).end('no'));
    await new Promise<void>((ok) => refusing.listen(0, '127.0.0.1', ok));
    const sources = [{ id: 'hipcall', provider: 'hipcall', mediaHostAllowlist: ['127.0.0.1'] }];
    stack = await startLocalStackProcess({
      CALLVAULT_MEDIA_DELAY_SECONDS: '0',
      CALLVAULT_FETCH_ALLOW: `127.0.0.1:${(refusing.address() as AddressInfo).port}`,
      CALLVAULT_CONFIG: JSON.stringify({ defaultCountry: 'GB', sources }),
    });
    s3 = new S3Client(localClientConfig(stack.endpoints.s3));
  }, 60_000);
  afterAll(async () => {
    s3?.destroy();
    await stack?.stop();
    await new Promise((ok) => refusing?.close(ok));
  });

  /** Wait until the cdr/ object `key` exists (a worker writes it a moment after the delivery). */
  const rowWritten = async (key: string): Promise<boolean> => {
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const { Contents } = await s3.send(new ListObjectsV2Command({ Bucket: stack.endpoints.bucket, Prefix: key }));
      if ((Contents ?? []).some((o) => o.Key === key)) return true;
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  };
  const post = (body: unknown) =>
    fetch(stack.endpoints.sources.find((s) => s.id === 'hipcall')!.url, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
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

  it('has a row for every call that ended, whatever became of its recording: rejected, failed, none, or backfilled without one', async () => {
    const hangup = (uuid: string, fields: Record<string, unknown>) => {
      const body = JSON.parse(hipcallHangup(uuid)) as { data: Record<string, unknown> };
      Object.assign(body.data, fields);
      return body;
    };
    const port = (refusing.address() as AddressInfo).port;
    // A link to a private address, refused before any fetch; a link the host refuses for good; no answer at all.
    expect((await post(hangup('e2e-rejected', { record_url: 'http://10.20.30.40/recordings/e2e-rejected.mp3' }))).status).toBe(200);
    expect((await post(hangup('e2e-failed', { record_url: `http://127.0.0.1:${port}/recordings/e2e-failed.mp3` }))).status).toBe(200);
    const missed = hangup('e2e-missed', { record_url: null, answered_at: null, call_duration: 0, missing_call: true, call_flow: [] });
    expect((await post(missed)).status).toBe(200);
    // A call Hipcall has and the archive lacks, without a recording: the reconcile backfills it.
    const register = await fetch(`${stack.endpoints.hipcallMock}/_calls`, {
      method: 'POST',
      body: JSON.stringify({
        uuid: 'e2e-backfilled',
        direction: 2,
        started_at: '2026-04-02T08:00:00Z',
        call_duration: 12,
        record_url: null,
      }),
    });
    expect(register.status).toBe(201);
    const reconcile = cli(
      'reconcile',
      'hipcall',
      '--source',
      'hipcall',
      '--since',
      '2026-04-02',
      '--until',
      '2026-04-02',
      '--local',
      '--json',
    );
    expect(reconcile.stderr).toBe('');
    expect(JSON.parse(reconcile.stdout)).toMatchObject({ backfilled: 1, errors: 0 });

    for (const id of ['e2e-rejected', 'e2e-failed', 'e2e-missed', 'e2e-backfilled'])
      expect(await rowWritten(`cdr/hipcall/2026/04/02/${id}.json`), id).toBe(true);
    const run = cli(
      'query',
      "SELECT call_id, status, recording_state FROM calls WHERE call_id IN ('e2e-rejected', 'e2e-failed', 'e2e-missed', 'e2e-backfilled') ORDER BY call_id",
      '--local',
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([
      { call_id: 'e2e-backfilled', status: 'completed', recording_state: null },
      { call_id: 'e2e-failed', status: 'completed', recording_state: 'failed' },
      { call_id: 'e2e-missed', status: 'missed', recording_state: null },
      { call_id: 'e2e-rejected', status: 'completed', recording_state: 'rejected' },
    ]);

    // The README's "recordings not stored" now finds them, as it says.
    const notStored = cli('query', CDR_EXAMPLE_QUERIES.find((q) => q.name === 'recordings-not-stored')!.sql, '--local', '--json');
    expect(notStored.stderr).toBe('');
    expect(JSON.parse(notStored.stdout)).toEqual([
      { provider: 'hipcall', day: '2026/04/02', call_id: 'e2e-failed', recording_state: 'failed' },
      { provider: 'hipcall', day: '2026/04/02', call_id: 'e2e-rejected', recording_state: 'rejected' },
    ]);
  }, 120_000);
});
