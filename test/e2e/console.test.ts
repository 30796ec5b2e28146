/**
 * `callvault console --local` against the local stack (npm start) seeded over its webhook URLs, driven
 * in headless Chromium: filter by a number, open a call, play its recording. Screenshots land in
 * .test-output/console/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '#bin/cli/context.ts';
import { ContactsTable } from '#adapters/contacts-table.ts';
import { demoMediaBytes } from '#bin/local/demo-media.ts';
import type { CallRecord } from '#core/types.ts';
import { projectRoot, startLocalStackProcess, type LocalStackProcess } from '#test/support/local-stack-process.ts';

const CUSTOMER = '+442045205757';
const OTHER = '+15551230000';
const SHOTS = join(projectRoot, '.test-output', 'console');

describe('callvault console --local in a browser', () => {
  let stack: LocalStackProcess;
  let doc: DynamoDBDocumentClient;
  let consoleProcess: ChildProcess;
  let consoleExit: Promise<number | null>;
  let consoleUrl: string;
  let browser: Browser;
  /** The answered call's Insight Card outcome, as the insight worker recorded it. */
  let insightState: string;
  const run = Date.now().toString(36);
  const answered = `console-${run}-answered`;
  const other = `console-${run}-other`;
  const postcall = `console${run}`;
  const recordingPath = `/hipcall/${answered}/recording.wav?kb=64`;

  beforeAll(async () => {
    // The browser starts while the stack does: both take seconds on a busy machine.
    const launching = chromium.launch({
      executablePath: execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim(),
      // Root has no user namespace sandbox here; the page is our own, on 127.0.0.1.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--autoplay-policy=no-user-gesture-required'],
    });
    stack = await startLocalStackProcess({ CALLVAULT_MEDIA_DELAY_SECONDS: '1' });
    doc = documentClient({ local: stack.endpoints });
    // The console reads only when asked, so it starts while the media worker stores the recordings.
    consoleProcess = spawn(process.execPath, ['--import', 'tsx', 'bin/callvault.ts', 'console', '--local', '--json'], {
      cwd: projectRoot,
      env: { ...process.env, CALLVAULT_DATA_DIR: stack.dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    consoleExit = new Promise((resolve) => consoleProcess.once('exit', (code) => resolve(code)));
    [insightState, consoleUrl, browser] = await Promise.all([seed(stack, doc), firstJsonLine(consoleProcess), launching]);
  });
  afterAll(async () => {
    await browser?.close();
    if (consoleProcess && consoleProcess.exitCode === null) consoleProcess.kill('SIGKILL');
    doc?.destroy();
    await stack?.stop();
  });

  /** Hipcall call_init + call_hangup (one with a WAV recording on the demo media server), and a post-call delivery. */
  async function seed(s: LocalStackProcess, d: DynamoDBDocumentClient): Promise<string> {
    await new ContactsTable(d, s.endpoints.tables.contacts).putAll([
      { phone: CUSTOMER, name: 'Jane Smith', company: 'Acme Corp', balance: 4250 },
    ]);
    const iso = (offsetS: number) => new Date(Date.now() + offsetS * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const hipcall = (uuid: string, number: string, extra: Record<string, unknown>) => ({
      uuid,
      direction: 'inbound',
      caller_number: number,
      callee_number: '+441234567890',
      caller_type: 'contact',
      callee_type: 'user',
      user_id: 1121,
      // Fresh: a call_init older than the staleness limit (20 s) gets no card.
      started_at: iso(-2),
      answered_at: null,
      ended_at: null,
      call_duration: null,
      record_url: null,
      ...extra,
    });
    const url = (id: string) => s.endpoints.sources.find((x) => x.id === id)!.url;
    const deliveries: [string, unknown][] = [
      ['hipcall', { event: 'call_init', data: hipcall(answered, CUSTOMER, {}) }],
      [
        'hipcall',
        {
          event: 'call_hangup',
          data: hipcall(answered, CUSTOMER, {
            answered_at: iso(-1),
            ended_at: iso(0),
            hangup_by: 'user',
            call_duration: 1,
            missing_call: false,
            record_url: `${s.endpoints.demoMedia}${recordingPath}`,
          }),
        },
      ],
      [
        'hipcall',
        {
          event: 'call_hangup',
          data: hipcall(other, OTHER, { ended_at: iso(0), hangup_by: 'contact', call_duration: 0, missing_call: true }),
        },
      ],
      [
        'postcall',
        {
          callId: postcall,
          recordingUri: `${s.endpoints.demoMedia}/recordings/${postcall}/call_recording.wav?kb=32`,
          transcriptUri: `${s.endpoints.demoMedia}/transcripts/transcript_${postcall}.json`,
          callerDetails: { name: 'John Smith', phoneNumber: CUSTOMER },
          callAnalysis: { summary: 'Customer called to schedule a product demo.', mood: 'Positive', score: 85 },
        },
      ],
    ];
    for (const [source, body] of deliveries) {
      const res = await fetch(url(source), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      // 202: durable on the replay queue (a loaded machine can miss the 3 s answer budget); applied shortly.
      expect([200, 202], `${source} delivery`).toContain(res.status);
    }
    // Ready when the hangup is applied, the recording and the post-call media are stored and the card has an outcome (sent, or
    // stale when a loaded machine delayed its call_init past the staleness limit).
    const keys = [`hipcall#${answered}`, `postcall#${postcall}`].map((callKey) => ({ callKey }));
    for (;;) {
      const out = await d.send(new BatchGetCommand({ RequestItems: { [s.endpoints.tables.calls]: { Keys: keys, ConsistentRead: true } } }));
      const items = new Map(((out.Responses?.[s.endpoints.tables.calls] ?? []) as CallRecord[]).map((i) => [i.callKey, i]));
      const a = items.get(`hipcall#${answered}`);
      const p = items.get(`postcall#${postcall}`);
      const media = [a?.recording?.state, p?.recording?.state, p?.transcript?.state];
      if (media.some((st) => st && st !== 'queued' && st !== 'stored')) throw new Error(`seeding failed: ${JSON.stringify(media)}`);
      const insight = a?.insight?.state as string | undefined;
      // The worker can store a recording before a hangup that was answered 202 is applied from the replay queue.
      if (media.every((st) => st === 'stored') && a?.status === 'completed' && insight && insight !== 'pending') return insight;
      // Bounded by the hook timeout; each round is one BatchGet.
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('prints {"url"} on 127.0.0.1 with --json when it is ready', () => {
    expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('filters by a number, opens the call and plays its recording in Chromium', async () => {
    mkdirSync(SHOTS, { recursive: true });
    const page = await browser.newPage();
    // A step that cannot happen fails with Playwright's message instead of the test's timeout.
    page.setDefaultTimeout(20_000);
    try {
      await page.goto(consoleUrl);
      expect(await page.title()).toContain('Calls');
      // Every seeded call is in today's list before filtering.
      expect(await page.locator(`a[href*="${other}"]`).count()).toBe(1);

      // A national-format number: the console reads it with the project's default country (GB).
      await page.getByLabel('Number').fill('020 4520 5757');
      await page.getByRole('button', { name: 'Show calls' }).click();
      await page.waitForURL(/number=020/);
      const rows = page.locator('tbody tr');
      expect(await rows.count()).toBe(2);
      expect(await page.locator(`a[href*="${other}"]`).count()).toBe(0);
      await page.screenshot({ path: join(SHOTS, 'list-by-number.png'), fullPage: true });

      await page.locator(`a[href="/calls/hipcall/${answered}"]`).click();
      await page.waitForURL(new RegExp(`/calls/hipcall/${answered}$`));
      expect(await page.getByRole('heading', { name: 'Insight Card' }).count()).toBe(1);
      const body = await page.locator('main').innerText();
      expect(body).toContain('completed');
      expect(body).toMatch(new RegExp(`Outcome\\s+${insightState}`));
      expect(body).toMatch(/call_init[\s\S]*call_hangup/);

      const played = await page.locator('audio').evaluate(
        (a: AudioElement) =>
          new Promise<{ readyState: number; duration: number; error?: number }>((resolve) => {
            const done = () => resolve({ readyState: a.readyState, duration: a.duration, ...(a.error ? { error: a.error.code } : {}) });
            a.addEventListener('canplay', done, { once: true });
            a.addEventListener('error', done, { once: true });
            // Start over, so canplay is seen here rather than before the listener was attached.
            a.load();
          }),
      );
      expect(played.error).toBeUndefined();
      expect(played.readyState).toBeGreaterThanOrEqual(3);
      // 8 kHz, 16-bit mono: the demo server's WAV of 64 KiB lasts about 4.1 s.
      const bytes = demoMediaBytes(recordingPath)!.body.length;
      expect(played.duration).toBeCloseTo((bytes - 44) / 16_000, 1);
      expect(await page.locator('audio').evaluate((a: AudioElement) => a.play().then(() => !a.paused))).toBe(true);
      await page.screenshot({ path: join(SHOTS, 'call.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('shows the post-call transcript and AI analysis', async () => {
    const res = await fetch(new URL(`/calls/postcall/${postcall}`, consoleUrl));
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain('I would like to schedule a product demo.');
    expect(html).toContain('Customer called to schedule a product demo.');
    expect(html).toContain(`<audio controls preload="metadata" src="/calls/postcall/${postcall}/recording"`);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    consoleProcess.kill('SIGTERM');
    expect(await consoleExit).toBe(0);
  });
});

/** The part of an HTMLAudioElement the test reads (the project compiles without the DOM lib). */
interface AudioElement {
  readyState: number;
  duration: number;
  paused: boolean;
  load(): void;
  error: { code: number } | null;
  addEventListener(type: string, listener: () => void, options: { once: boolean }): void;
  play(): Promise<void>;
}

/** The console's first stdout line, parsed as `{url}`; fails with its output when it exits first. */
function firstJsonLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve((JSON.parse(line!) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`console exited with ${code} before it was ready:\n${out}\n${err}`)));
  });
}
