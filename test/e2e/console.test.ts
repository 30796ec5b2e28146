/**
 * `callvault console --local` against the local stack (npm start) seeded over its webhook URLs, driven
 * in headless Chromium: filter by a number, see the contact's name, open a call, play its recording and
 * each demo recording (WAV, OGG, MP3), open a delivery as it was sent, page through 120 calls of a day.
 * Screenshots land in .test-output/console/.
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
  /** One call per format the demo media server records speech in, each with its recording as the demo serves it. */
  const formats = ['wav', 'ogg', 'mp3'].map((ext) => ({ ext, uuid: `console-${run}-speech-${ext}` }));
  /** A past day holding 120 calls, to page through. */
  const busyDay = '2026-01-15';
  const busy = Array.from({ length: 120 }, (_, i) => `console-${run}-busy-${String(i).padStart(3, '0')}`);

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
    for (const f of formats)
      deliveries.push([
        'hipcall',
        {
          event: 'call_hangup',
          data: hipcall(f.uuid, OTHER, {
            answered_at: iso(-1),
            ended_at: iso(0),
            hangup_by: 'user',
            call_duration: 7,
            missing_call: false,
            record_url: `${s.endpoints.demoMedia}/hipcall/${f.uuid}/recording.${f.ext}`,
          }),
        },
      ]);
    for (const [source, body] of deliveries) {
      const res = await fetch(url(source), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      // 202: durable on the replay queue (a loaded machine can miss the 3 s answer budget); applied shortly.
      expect([200, 202], `${source} delivery`).toContain(res.status);
    }
    // Ready when the hangup is applied, the recording and the post-call media are stored and the card has an outcome (sent, or
    // stale when a loaded machine delayed its call_init past the staleness limit).
    // The busy day: 120 calls at a minute apart, 8 deliveries at a time.
    const busyCall = (uuid: string, i: number) => ({
      event: 'call_hangup',
      data: hipcall(uuid, OTHER, {
        started_at: new Date(Date.parse(`${busyDay}T09:00:00Z`) + i * 60_000).toISOString(),
        ended_at: new Date(Date.parse(`${busyDay}T09:00:30Z`) + i * 60_000).toISOString(),
        call_duration: 30,
        missing_call: false,
        hangup_by: 'user',
      }),
    });
    for (let i = 0; i < busy.length; i += 8)
      await Promise.all(
        busy.slice(i, i + 8).map(async (uuid, j) => {
          const res = await fetch(url('hipcall'), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(busyCall(uuid, i + j)),
          });
          expect([200, 202], 'busy-day delivery').toContain(res.status);
        }),
      );
    const keys = [`hipcall#${answered}`, `postcall#${postcall}`, ...formats.map((f) => `hipcall#${f.uuid}`)].map((callKey) => ({
      callKey,
    }));
    for (;;) {
      const out = await d.send(new BatchGetCommand({ RequestItems: { [s.endpoints.tables.calls]: { Keys: keys, ConsistentRead: true } } }));
      const items = new Map(((out.Responses?.[s.endpoints.tables.calls] ?? []) as CallRecord[]).map((i) => [i.callKey, i]));
      const a = items.get(`hipcall#${answered}`);
      const p = items.get(`postcall#${postcall}`);
      const media = [
        a?.recording?.state,
        p?.recording?.state,
        p?.transcript?.state,
        ...formats.map((f) => items.get(`hipcall#${f.uuid}`)?.recording?.state),
      ];
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

  it("shows the contact's name on the call, opens a delivery as it was sent, and plays each demo recording", async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    try {
      await page.goto(consoleUrl);
      const row = page.locator('tbody tr', { has: page.locator(`a[href="/calls/hipcall/${answered}"]`) });
      expect(await row.innerText()).toContain('Jane Smith');
      await page.screenshot({ path: join(SHOTS, 'list-with-names.png'), fullPage: true });

      await page.locator(`a[href="/calls/hipcall/${answered}"]`).click();
      expect(await page.locator('main').innerText()).toContain('Jane Smith');
      const history = page.locator('section[aria-labelledby="h-deliveries"] tbody a');
      expect(await history.count()).toBe(2);
      await history.last().click();
      await page.waitForURL(new RegExp(`/calls/hipcall/${answered}/deliveries/`));
      const delivery = await page.locator('main').innerText();
      expect(delivery).toContain('Delivery as sent');
      expect(delivery).toContain('accepted and applied');
      expect(delivery).toContain(`"uuid": "${answered}"`);
      expect(delivery).toContain('"event": "call_hangup"');
      await page.screenshot({ path: join(SHOTS, 'delivery.png'), fullPage: true });

      const played: Record<string, { readyState: number; duration: number; error?: number }> = {};
      for (const f of formats) {
        await page.goto(new URL(`/calls/hipcall/${f.uuid}`, consoleUrl).toString());
        played[f.ext] = await page.locator('audio').evaluate(
          (a: AudioElement) =>
            new Promise<{ readyState: number; duration: number; error?: number }>((resolve) => {
              const done = () => resolve({ readyState: a.readyState, duration: a.duration, ...(a.error ? { error: a.error.code } : {}) });
              a.addEventListener('canplay', done, { once: true });
              a.addEventListener('error', done, { once: true });
              a.load();
            }),
        );
        await page.screenshot({ path: join(SHOTS, `recording-${f.ext}.png`), fullPage: true });
      }
      // The demo's speech lasts 6.98 s in every format.
      expect(Object.keys(played)).toEqual(['wav', 'ogg', 'mp3']);
      for (const [ext, p] of Object.entries(played)) {
        expect(p.error, ext).toBeUndefined();
        expect(p.readyState, ext).toBeGreaterThanOrEqual(3);
        expect(p.duration, ext).toBeGreaterThan(6.5);
        expect(p.duration, ext).toBeLessThan(7.5);
      }
    } finally {
      await page.close();
    }
  });

  it('pages through the 120 calls of a day with the next link, 50 at a time', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    try {
      await page.goto(new URL(`/?day=${busyDay}`, consoleUrl).toString());
      const seen: string[] = [];
      const sizes: number[] = [];
      for (;;) {
        const links = await page
          .locator('tbody tr td:first-child a')
          .evaluateAll((as: { getAttribute(name: string): string | null }[]) => as.map((a) => a.getAttribute('href') ?? ''));
        sizes.push(links.length);
        seen.push(...links);
        const next = page.getByRole('link', { name: 'Next page' });
        if ((await next.count()) === 0) break;
        if (sizes.length === 2) await page.screenshot({ path: join(SHOTS, 'list-page-2.png'), fullPage: true });
        await next.click();
        await page.waitForURL(/after=/);
      }
      expect(sizes).toEqual([50, 50, 20]);
      expect(new Set(seen).size).toBe(120);
      expect([...seen].sort()).toEqual(busy.map((id) => `/calls/hipcall/${id}`).sort());
      // Newest first across pages.
      expect(seen[0]).toBe(`/calls/hipcall/${busy[119]}`);
      expect(seen[119]).toBe(`/calls/hipcall/${busy[0]}`);
    } finally {
      await page.close();
    }
  });

  it('finds a call by its id and opens it', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(consoleUrl);
      await page.getByLabel('Call id').fill(other);
      await page.getByRole('button', { name: 'Open call' }).click();
      await page.waitForURL(new RegExp(`/calls/hipcall/${other}$`));
      expect(await page.locator('h1').innerText()).toBe(`hipcall call ${other}`);
    } finally {
      await page.close();
    }
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
