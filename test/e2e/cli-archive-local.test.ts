/**
 * The archive commands as a user runs them against `npm start`: each `npx callvault ... --local --json`
 * is its own process, reading the stack's endpoints.json, over calls that came in through the stack's
 * webhook URLs (an answered call with a recording the media worker stored, and a missed call).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMediaBytes } from '#bin/local/demo-media.ts';
import { projectRoot, startLocalStackProcess, type LocalStackProcess } from '#test/support/local-stack-process.ts';
import { match } from '#test/support/match.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Run the CLI as `npx callvault` would, against the stack's data dir; resolves with exit code and output. */
function callvault(stack: LocalStackProcess, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/callvault.ts', ...args], {
      cwd: projectRoot,
      env: { ...process.env, CALLVAULT_DATA_DIR: stack.dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

async function json<T>(stack: LocalStackProcess, ...args: string[]): Promise<T> {
  const r = await callvault(stack, ...args);
  expect(r.code, `callvault ${args.join(' ')}\n${r.out}\n${r.err}`).toBe(0);
  return JSON.parse(r.out) as T;
}

describe('archive commands against npm start (--local --json)', () => {
  let stack: LocalStackProcess;
  const dirs: string[] = [];
  const run = Date.now().toString(36);
  const answered = `cli-${run}-answered`;
  const missed = `cli-${run}-missed`;
  const unknown = `cli-${run}-never-delivered`;
  const recordingPath = `/hipcall/${answered}/recording.wav?kb=48`;
  const today = new Date().toISOString().slice(0, 10);
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'callvault-cli-'));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    stack = await startLocalStackProcess({ CALLVAULT_MEDIA_DELAY_SECONDS: '0' });
    const iso = (offsetS: number) => new Date(Date.now() + offsetS * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const call = (uuid: string, extra: Record<string, unknown>) => ({
      uuid,
      direction: 'inbound',
      caller_number: '+442045205757',
      callee_number: '+441234567890',
      started_at: iso(-30),
      answered_at: null,
      call_duration: 0,
      record_url: null,
      ended_at: iso(0),
      ...extra,
    });
    const url = stack.endpoints.sources.find((s) => s.id === 'hipcall')!.url;
    for (const data of [
      call(answered, {
        answered_at: iso(-25),
        call_duration: 25,
        hangup_by: 'user',
        missing_call: false,
        record_url: `${stack.endpoints.demoMedia}${recordingPath}`,
      }),
      call(missed, { hangup_by: 'contact', missing_call: true }),
    ]) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event: 'call_hangup', data }),
      });
      expect(res.status).toBe(200);
    }
    // Hipcall's own calls list (the stand-in) knows both, and a call that was never delivered.
    for (const data of [
      call(answered, { record_url: `${stack.endpoints.demoMedia}${recordingPath}` }),
      call(missed, {}),
      call(unknown, { record_url: `${stack.endpoints.demoMedia}/hipcall/${unknown}/recording.wav` }),
    ]) {
      const res = await fetch(`${stack.endpoints.hipcallMock}/_calls`, { method: 'POST', body: JSON.stringify(data) });
      expect(res.status).toBeLessThan(300);
    }
    // The media worker stores the recording a moment after the hangup.
    const until = Date.now() + 60_000;
    for (;;) {
      const got = await callvault(stack, 'calls', 'get', 'hipcall', answered, '--local', '--json');
      if (got.code === 0 && (JSON.parse(got.out) as { media: unknown[] }).media.length > 0) break;
      if (Date.now() > until)
        throw new Error(`the recording of ${answered} was not stored within 60 s:\n${got.out}\n${got.err}\n${stack.output()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('calls get: the record, and a pre-signed link that serves the stored recording', async () => {
    const got = await json<{ call: { callId: string; status: string }; media: { media: string; sha256: string; url: string }[] }>(
      stack,
      'calls',
      'get',
      'hipcall',
      answered,
      '--local',
      '--json',
    );
    expect(got.call).toMatchObject({ callId: answered, status: 'completed' });
    const expected = demoMediaBytes(recordingPath)!.body;
    expect(got.media).toEqual([match.objectContaining({ media: 'recording', sha256: sha256(expected) })]);
    const served = Buffer.from(await (await fetch(got.media[0]!.url)).arrayBuffer());
    expect(sha256(served)).toBe(sha256(expected));
  });

  it('calls download: the recording saved and checked against its sha256', async () => {
    const out = tempDir();
    const got = await json<{ dir: string; files: { path: string }[] }>(
      stack,
      'calls',
      'download',
      'hipcall',
      answered,
      '--out',
      out,
      '--local',
      '--json',
    );
    expect(got.files).toHaveLength(1);
    expect(sha256(readFileSync(join(got.dir, got.files[0]!.path)))).toBe(sha256(demoMediaBytes(recordingPath)!.body));
  });

  it('calls export: both calls as JSON Lines and the recording, every file verified', async () => {
    const out = tempDir();
    const result = await json<{ calls: number; files: { verified: boolean }[] }>(
      stack,
      'calls',
      'export',
      '--since',
      today,
      '--until',
      today,
      '--out',
      out,
      '--local',
      '--json',
    );
    expect(result.calls).toBe(2);
    expect(result.files.map((f) => f.verified)).toEqual([true]);
    const ids = readFileSync(join(out, 'calls.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { callId: string }).callId);
    expect(ids.sort()).toEqual([answered, missed].sort());
  });

  it("replay --dry-run: today's adapters rebuild both calls from raw/ as they are stored", async () => {
    const report = await json<{ dryRun: boolean; summary: Record<string, number> }>(
      stack,
      'replay',
      '--since',
      today,
      '--until',
      today,
      '--dry-run',
      '--local',
      '--json',
    );
    expect(report.dryRun).toBe(true);
    expect(report.summary).toMatchObject({ unchanged: 2, changed: 0, created: 0 });
  });

  it('query: SQL over cdr/ sees the answered call (written by the media worker) and the missed one (by the ingest)', async () => {
    const rows = await json<{ call_id: string; recording_stored: boolean }[]>(
      stack,
      'query',
      `SELECT call_id, recording_stored FROM calls WHERE call_id LIKE 'cli-${run}-%' ORDER BY call_id`,
      '--local',
      '--json',
    );
    expect(rows).toEqual([
      { call_id: answered, recording_stored: true },
      { call_id: missed, recording_stored: false },
    ]);
  });

  it('reconcile --dry-run: lists exactly the call Hipcall has and the archive lacks, and changes nothing', async () => {
    const summary = await json<{ seen: number; present: number; missing: number; backfilled: number; callIds: { missing: string[] } }>(
      stack,
      'reconcile',
      'hipcall',
      '--source',
      'hipcall',
      '--since',
      today,
      '--dry-run',
      '--local',
      '--json',
    );
    expect(summary).toMatchObject({ seen: 3, present: 2, missing: 1, backfilled: 0 });
    expect(summary.callIds.missing).toEqual([unknown]);
    const after = await callvault(stack, 'calls', 'get', 'hipcall', unknown, '--local', '--json');
    expect(after.code).toBe(1);
  });
});
