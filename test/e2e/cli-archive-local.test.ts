/**
 * The CLI as a user runs it against `npm start`: each `npx callvault ...` is its own process (the
 * launcher, bin/callvault.mjs), reading the stack's endpoints.json, over calls that came in through the
 * stack's webhook URLs (an answered call with a recording the media worker stored, and a missed call).
 * Then the CLI front: every command's mistakes, --json on every command, and provider text with
 * terminal escape sequences printed harmlessly.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '#bin/cli/context.ts';
import { demoMediaBytes } from '#bin/local/demo-media.ts';
import { projectRoot, startLocalStackProcess, type LocalStackProcess } from '#test/support/local-stack-process.ts';
import { match } from '#test/support/match.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Run the CLI as `npx callvault` would, against the stack's data dir; resolves with exit code and output. */
function callvault(stack: LocalStackProcess, ...args: string[]): Promise<{ code: number | null; out: string; err: string; bytes: Buffer }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/callvault.mjs', ...args], {
      cwd: projectRoot,
      env: { ...process.env, CALLVAULT_DATA_DIR: stack.dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('close', (code) => {
      const bytes = Buffer.concat(chunks);
      resolve({ code, out: bytes.toString('utf8'), err, bytes: Buffer.concat([bytes, Buffer.from(err)]) });
    });
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

  describe('the CLI front', () => {
    /** A message, and never a stack frame: "    at foo (file:...)". */
    const noStack = (r: { err: string; out: string }) => expect(`${r.out}\n${r.err}`).not.toMatch(/^\s+at \S/m);

    it('refuses an unknown option and every bad value with a message, the usage and exit 2, never a stack trace', async () => {
      const mistakes: string[][] = [
        ['urls', '--bogus'],
        ['calls', 'list', '--bogus'],
        ['calls', 'list', '--day', '2026-02-30'],
        ['calls', 'list', '--day', 'yesterday'],
        ['calls', 'list', '--limit', '0'],
        ['calls', 'list', '--limit', 'ten'],
        ['calls', 'list', '--from', '2026-13-01'],
        ['calls', 'list', '--to', '2026-04-02T25:00:00Z'],
        ['calls', 'list', '--from', '2026-04-03', '--to', '2026-04-02'],
        ['calls', 'list', '--day', today, '--customer', '+442045205757'],
        ['calls', 'list', '--local=yes'],
        ['calls', 'get'],
        ['calls', 'get', 'zoom#abc'],
        ['calls', 'get', `hipcall#${answered}`, '--expires', '0'],
        ['calls', 'get', `hipcall#${answered}`, '--expires', '604801'],
        ['calls', 'get', '--bogus'],
        ['calls', 'download'],
        ['calls', 'download', '--bogus'],
        ['calls', 'export', '--since', '2026-04-31', '--until', '2026-05-01', '--out', '/tmp/x'],
        ['calls', 'export', '--since', today, '--until', today],
        ['calls', 'export', '--bogus'],
        ['calls', 'play'],
        ['calls'],
        ['deliveries'],
        ['deliveries', 'ignored'],
        ['deliveries', 'refused', '--since', '2026-02-30'],
        ['deliveries', 'refused', '--limit', '0'],
        ['deliveries', 'refused', '--bogus'],
        ['deliveries', 'show'],
        ['deliveries', 'show', 'recordings/hipcall/2026/04/02/x.mp3'],
        ['contacts'],
        ['contacts', 'export'],
        ['contacts', 'import'],
        ['contacts', 'import', 'x.csv', '--country', 'GBR'],
        ['contacts', 'import', '--bogus'],
        ['check', '--bogus'],
        ['check', '--source'],
        ['replay'],
        ['replay', '--bogus'],
        ['replay', '--dlq', 'nope'],
        ['replay', '--dlq', 'media', '--max', '0'],
        ['replay', '--dlq', 'media', '--unapplied'],
        ['replay', '--dlq', 'media', '--source', 'hipcall'],
        ['replay', '--since', '2026-02-30', '--until', today],
        ['replay', '--since', today],
        ['query'],
        ['query', '--bogus', 'SELECT 1'],
        ['console', '--port', '70000'],
        ['console', '--port', 'eighty'],
        ['console', '--bogus'],
        ['reconcile'],
        ['reconcile', 'callhippo', '--source', 'hipcall', '--since', today],
        ['reconcile', 'hipcall', '--since', today],
        ['reconcile', 'hipcall', '--source', 'hipcall'],
        ['reconcile', 'hipcall', '--source', 'hipcall', '--since', 'yesterday'],
        ['reconcile', 'hipcall', '--source', 'hipcall', '--since', today, '--until', '2020-01-01'],
        ['reconcile', '--bogus'],
        ['cost'],
        ['cost', '--calls-per-month', '-5'],
        ['cost', '--calls-per-month', 'many'],
        ['cost', '--calls-per-month', '10', '--share-with-recording', '1.5'],
        ['cost', '--bogus'],
        ['nope'],
      ];
      // Each runs against the local stack, but for the commands that take no --local and the bare subcommand-less ones.
      const local = (argv: string[]) =>
        !['nope', 'cost'].includes(argv[0]!) && !(argv.length === 1 && ['calls', 'deliveries', 'contacts'].includes(argv[0]!));
      const results = await Promise.all(mistakes.map((argv) => callvault(stack, ...argv, ...(local(argv) ? ['--local'] : []))));
      expect(results).toHaveLength(mistakes.length);
      for (const [i, r] of results.entries()) {
        const what = `callvault ${mistakes[i]!.join(' ')}\n${r.out}\n${r.err}`;
        expect(r.code, what).toBe(2);
        expect(r.err, what).toMatch(/^callvault( \w+)?: \S/);
        expect(r.err, what).toContain('Usage: callvault');
        noStack(r);
      }
    });

    it('says what to do, without a stack trace, when the local stack is not there', async () => {
      const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
        const child = spawn(process.execPath, ['bin/callvault.mjs', 'calls', 'list', '--local'], {
          cwd: projectRoot,
          env: { ...process.env, CALLVAULT_DATA_DIR: tempDir() },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.once('close', (code) => resolve({ code, err }));
      });
      expect(r.code).toBe(1);
      expect(r.err).toContain('No local stack found');
      expect(r.err).not.toMatch(/^\s+at \S/m);
    });

    it('prints JSON that parses from every command with --json', async () => {
      // A refused delivery (not JSON), for the deliveries commands.
      const postcall = stack.endpoints.sources.find((x) => x.id === 'postcall')!.url;
      const refused = await fetch(postcall, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"callId": ' });
      expect(refused.status).toBe(400);
      const csv = join(tempDir(), 'contacts.csv');
      writeFileSync(csv, 'phone,name\n+442045205757,Jane Smith\n');
      const exportDir = tempDir();
      const commands: string[][] = [
        ['urls'],
        ['calls', 'list'],
        ['calls', 'list', '--customer', '020 4520 5757'],
        ['calls', 'get', `hipcall#${answered}`],
        ['calls', 'download', `hipcall#${answered}`, '--out', tempDir()],
        ['calls', 'export', '--since', today, '--until', today, '--out', exportDir],
        ['deliveries', 'refused'],
        ['deliveries', 'quarantined', '--source', 'postcall'],
        ['contacts', 'import', csv],
        ['contacts', 'import', csv, '--dry-run'],
        ['check'],
        ['replay', '--dlq', 'media', '--dry-run'],
        ['replay', '--dlq', 'insight'],
        ['replay', '--unapplied', '--dry-run'],
        ['replay', '--since', today, '--until', today, '--dry-run'],
        ['query', 'SELECT count(*) AS n FROM calls'],
        ['reconcile', 'hipcall', '--source', 'hipcall', '--since', today, '--dry-run'],
        ['cost', '--calls-per-month', '1000'],
      ];
      const parsed: unknown[] = [];
      for (const argv of commands) {
        const r = await callvault(stack, ...argv, ...(argv[0] === 'cost' ? [] : ['--local']), '--json');
        const what = `callvault ${argv.join(' ')} --json\n${r.out}\n${r.err}`;
        // check exits 1 when a check fails (no alarms locally, but a queue may hold a message): its JSON still parses.
        expect(argv[0] === 'check' ? [0, 1] : [0], what).toContain(r.code);
        parsed.push(JSON.parse(r.out));
        noStack(r);
      }
      expect(parsed).toHaveLength(commands.length);
      const [urls, , byCustomer, got, , , refusedList] = parsed as [
        { id: string; url: string }[],
        unknown,
        { callKey: string }[],
        { call: { callKey: string } },
        unknown,
        unknown,
        { key: string; status: number; reason: string }[],
      ];
      expect(urls.map((u) => u.id)).toEqual(stack.endpoints.sources.map((x) => x.id));
      expect(byCustomer.map((c) => c.callKey)).toContain(`hipcall#${answered}`);
      expect(got.call.callKey).toBe(`hipcall#${answered}`);
      expect(refusedList[0]).toMatchObject({ status: 400 });
      const shown = await callvault(stack, 'deliveries', 'show', refusedList[0]!.key, '--local', '--json');
      expect(JSON.parse(shown.out)).toMatchObject({ kind: 'refused', status: 400, body: '{"callId": ' });

      // The console prints {"url"} when it is ready, and stops on SIGTERM.
      const child = spawn(process.execPath, ['bin/callvault.mjs', 'console', '--local', '--json'], {
        cwd: projectRoot,
        env: { ...process.env, CALLVAULT_DATA_DIR: stack.dataDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.once('exit', (code) => reject(new Error(`console exited ${code}: ${out}`)));
      });
      expect((JSON.parse(line) as { url: string }).url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    });

    it('prints provider text with terminal escape sequences harmlessly, in text and in JSON', async () => {
      const ESC = '\u001b';
      const BEL = '\u0007';
      const hostile = {
        // OSC 52 writes the clipboard; OSC 8 is a link; OSC 0 sets the window title; CSI 2J clears the screen; C1 CSI and DEL.
        id: `hostile-${run}-${ESC}]52;c;cm0gLXJmIH4=${BEL}${ESC}[2J\u009b31m\u007f`,
        hangupBy: `${ESC}]0;pwned title${BEL}user`,
        number: `+44${ESC}]8;;https://evil.example/${ESC}\\2045205757${ESC}]8;;${ESC}\\`,
        agent: `agent${ESC}[2J\r\u0085`,
      };
      const url = stack.endpoints.sources.find((x) => x.id === 'hipcall')!.url;
      const data = {
        uuid: hostile.id,
        direction: 'inbound',
        caller_number: hostile.number,
        callee_number: '+441234567890',
        user_id: hostile.agent,
        started_at: new Date(Date.now() - 20_000).toISOString(),
        ended_at: new Date().toISOString(),
        call_duration: 20,
        hangup_by: hostile.hangupBy,
        missing_call: false,
      };
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event: 'call_hangup', data }),
      });
      expect(res.status).toBe(200);
      // Hipcall's own list names a hostile call too: reconcile's summary shows its id.
      const reg = await fetch(`${stack.endpoints.hipcallMock}/_calls`, {
        method: 'POST',
        body: JSON.stringify({ ...data, uuid: `${hostile.id}-missing` }),
      });
      expect(reg.status).toBeLessThan(300);

      // A call raw/ holds and the table lost: replay names it (created) in its report.
      const lost = `${hostile.id}-lost`;
      const lostRes = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event: 'call_hangup', data: { ...data, uuid: lost } }),
      });
      expect(lostRes.status).toBe(200);
      const doc = documentClient({ local: stack.endpoints });
      try {
        await doc.send(new DeleteCommand({ TableName: stack.endpoints.tables.calls, Key: { callKey: `hipcall#${lost}` } }));
      } finally {
        doc.destroy();
      }

      const runs = [
        await callvault(stack, 'calls', 'list', '--local'),
        await callvault(stack, 'calls', 'get', `hipcall#${hostile.id}`, '--local'),
        await callvault(stack, 'query', `SELECT call_id, hangup_by, customer_number FROM calls WHERE call_id LIKE 'hostile-%'`, '--local'),
        await callvault(stack, 'reconcile', 'hipcall', '--source', 'hipcall', '--since', today, '--dry-run', '--local', '--json'),
        await callvault(stack, 'replay', '--since', today, '--until', today, '--dry-run', '--local'),
      ];
      // Control characters: C0 but newline and tab, DEL, and C1 as UTF-8 (0xC2 0x80-0x9F).
      const raw = (b: Buffer) =>
        [...b.entries()].filter(
          ([i, c]) => (c < 0x20 && c !== 0x0a && c !== 0x09) || c === 0x7f || (c === 0xc2 && b[i + 1]! >= 0x80 && b[i + 1]! <= 0x9f),
        );
      for (const r of runs) expect(raw(r.bytes), r.out + r.err).toEqual([]);
      expect(runs[0]!.out).toContain('\\u001b]52;c;cm0gLXJmIH4=\\u0007');
      expect(runs[1]!.out).toContain('\\u001b]0;pwned title\\u0007user');
      expect(runs[1]!.out).toContain('\\u009b31m\\u007f');
      expect(runs[4]!.out).toContain(
        `hipcall#hostile-${run}-\\u001b]52;c;cm0gLXJmIH4=\\u0007\\u001b[2J\\u009b31m\\u007f-lost  created (dry run: not written)`,
      );
      // The summary names the call Hipcall lists and the archive lacks: its C1 escaped too (JSON.stringify leaves C1 raw).
      expect(runs[3]!.out).toContain(`hostile-${run}-\\u001b]52;c;cm0gLXJmIH4=\\u0007\\u001b[2J\\u009b31m\\u007f-missing`);

      // JSON stays JSON, and carries the exact values.
      const json = await callvault(stack, 'calls', 'get', `hipcall#${hostile.id}`, '--local', '--json');
      expect(raw(json.bytes)).toEqual([]);
      const call = (JSON.parse(json.out) as { call: { callId: string; hangupBy: string } }).call;
      expect(call).toMatchObject({ callId: hostile.id, hangupBy: hostile.hangupBy });
    });
  });
});
