/**
 * `npm run demo -- --once`: play the providers' sample flows (the seed documents) against the running
 * local stack (`npm start`), wait until every recording, voicemail and transcript is stored, print a
 * table and exit 0 only if all of them are, byte for byte (SHA-256 checked against the demo media server).
 *
 * Options: DEMO_USAGE below.
 *
 * Reads `${CALLVAULT_DATA_DIR:-.callvault}/endpoints.json`, written by the local stack when it is ready.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { whenOrphaned } from './local/parent-watch.ts';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient, readLocalEndpoints, type LocalEndpoints } from './cli/context.ts';
import { demoMediaBytes } from './local/demo-media.ts';
import { callKeyOf, type CallRecord, type MediaInfo, type MediaKind, type Provider } from '#core/types.ts';
import { ContactsTable } from '#adapters/contacts-table.ts';
import type { Contact } from '#core/contact.ts';

/** endpoints.json as the local stack writes it. */
type Endpoints = LocalEndpoints;

/** One webhook delivery, and the media it should end up storing. */
interface Delivery {
  provider: Provider;
  body: unknown;
}
interface Expected {
  provider: Provider;
  callId: string;
  media: MediaKind;
  /** The demo media path, whose bytes the stored file must match. */
  path: string;
}

export const DEMO_USAGE = `Usage: npm run demo -- [--once] [--timeout=60] [--every=30]
Plays the Hipcall, CallHippo and post-call sample flows against the running local stack (npm start),
waits until every recording, voicemail, transcript and Insight Card is where it belongs, prints a table.
  --once         play the flows once and exit: 0 when everything landed, 1 when not
                 (without it: a round every --every seconds until Ctrl-C)
  --timeout=S    how long to wait for the media, in seconds (default 60)
  --every=S      the pause between rounds without --once, in seconds (default 30)
It finds the stack through \${CALLVAULT_DATA_DIR:-.callvault}/endpoints.json.`;

/** The demo's options, checked; a mistake is a message and the usage. */
function demoArgs(argv: string[]): { once: boolean; timeoutS: number; everyS: number; help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      once: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '60' },
      every: { type: 'string', default: '30' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const seconds = (flag: string, v: string) => {
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!(n >= 1 && n <= 3600)) throw new Error(`--${flag} must be whole seconds from 1 to 3600, not "${v}".`);
    return n;
  };
  return { once: values.once, timeoutS: seconds('timeout', values.timeout), everyS: seconds('every', values.every), help: values.help };
}

/** The seeds' flows for all three providers, with fresh call ids and media URLs on the demo media server. */
function flows(media: string): { deliveries: Delivery[]; expected: Expected[]; cards: string[] } {
  const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const now = Date.now();
  const iso = (offsetS: number) => new Date(now + offsetS * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const epoch = (offsetS: number) => Math.floor(now / 1000) + offsetS;
  const answered = `demo-${run}-answered`;
  const missed = `demo-${run}-voicemail`;
  const sid = `CAdemo${run}`;
  const pc = `demo${run}`;
  const p = {
    rec: `/hipcall/${answered}/recording.mp3`,
    vm: `/hipcall/${missed}/voicemail.mp3`,
    ch: `/callhippo/${sid}/recording.wav`,
    pcRec: `/recordings/${pc}/call_recording.ogg`,
    pcTx: `/transcripts/transcript_${pc}.json`,
  };
  const hipcallData = (uuid: string, extra: Record<string, unknown>) => ({
    uuid,
    direction: 'inbound',
    caller_number: '+442045205757',
    callee_number: '+441234567890',
    caller_type: 'contact',
    callee_type: 'user',
    channel_type: 'number',
    number_id: 328,
    channel_id: 328,
    user_id: 1121,
    started_at: iso(-2),
    answered_at: null,
    ended_at: null,
    hangup_by: null,
    call_duration: null,
    record_url: null,
    voicemail_url: null,
    missing_call: null,
    call_flow: [{ action: 'init', detail: { id: null, type: 'contact' }, timestamp: epoch(-2) }],
    ...extra,
  });
  const deliveries: Delivery[] = [
    // Hipcall: an answered call with a recording (seed 000/001)...
    { provider: 'hipcall', body: { event: 'call_init', data: hipcallData(answered, {}) } },
    {
      provider: 'hipcall',
      body: {
        event: 'call_hangup',
        data: hipcallData(answered, {
          answered_at: iso(-1),
          ended_at: iso(0),
          hangup_by: 'user',
          call_duration: 1,
          missing_call: false,
          record_url: `${media}${p.rec}`,
          call_flow: [
            { action: 'hangup', detail: { hangup_by: 'user' }, timestamp: epoch(0) },
            { action: 'init', detail: { id: null, type: 'contact' }, timestamp: epoch(-2) },
          ],
        }),
      },
    },
    // ...and a missed call that left a voicemail.
    { provider: 'hipcall', body: { event: 'call_init', data: hipcallData(missed, {}) } },
    {
      provider: 'hipcall',
      body: {
        event: 'call_hangup',
        data: hipcallData(missed, {
          ended_at: iso(0),
          hangup_by: 'contact',
          call_duration: 2,
          missing_call: true,
          missing_call_reason: 'no_answer',
          voicemail_type: 'user',
          voicemail_url: `${media}${p.vm}`,
        }),
      },
    },
    // CallHippo: a call activity with a recording (seed 002).
    {
      provider: 'callhippo',
      body: {
        activityType: 'call',
        from: '+442045205757',
        to: '+41232132131',
        dialCode: '41',
        callType: 'Outgoing',
        duration: '00:50',
        status: 'Completed',
        time: iso(-5),
        callSid: sid,
        startTime: iso(-60),
        endTime: iso(-10),
        callerName: 'Demo User',
        email: 'agent@example.com',
        recordingUrl: `${media}${p.ch}`,
        answeredDevice: 'web',
        hangupBy: 'Agent',
        callQueue: false,
      },
    },
    // Post-call: a recording (OGG) and a transcript (JSON) (seed 004).
    {
      provider: 'postcall',
      body: {
        callId: pc,
        recordingUri: `${media}${p.pcRec}`,
        transcriptUri: `${media}${p.pcTx}`,
        callerDetails: { name: 'John Smith', phoneNumber: '+1-555-123-4567', language: 'English' },
        callAnalysis: {
          summary: 'Customer called to schedule a product demo.',
          mood: 'Positive',
          score: 85,
          callOutcome: 'Demo Scheduled',
          classification: 'Sales Inquiry',
        },
      },
    },
  ];
  const expected: Expected[] = [
    { provider: 'hipcall', callId: answered, media: 'recording', path: p.rec },
    { provider: 'hipcall', callId: missed, media: 'voicemail', path: p.vm },
    { provider: 'callhippo', callId: sid, media: 'recording', path: p.ch },
    { provider: 'postcall', callId: pc, media: 'recording', path: p.pcRec },
    { provider: 'postcall', callId: pc, media: 'transcript', path: p.pcTx },
  ];
  // Both Hipcall calls come from the demo contact: each call_init must put a card on the agent's screen.
  return { deliveries, expected, cards: [answered, missed] };
}

async function post(url: string, body: unknown): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${new URL(url).pathname.replace(/[^/]+$/, '***')} answered ${res.status}: ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { status?: string }).status ?? String(res.status);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Row {
  e: Expected;
  info?: MediaInfo;
  match: boolean;
}

async function round(endpoints: Endpoints, doc: DynamoDBDocumentClient, timeoutS: number): Promise<boolean> {
  if (!endpoints.demoMedia)
    throw new Error('endpoints.json has no "demoMedia": restart the local stack (npm start) so its demo media server is running.');
  const { deliveries, expected, cards } = flows(endpoints.demoMedia);
  await new ContactsTable(doc, endpoints.tables.contacts).putAll([DEMO_CONTACT]);
  for (const d of deliveries) {
    const source = endpoints.sources.find((s) => s.provider === d.provider);
    if (!source) throw new Error(`The local stack has no ${d.provider} source (see the callvault config in cdk.json).`);
    const status = await post(source.url, d.body);
    console.log(`  ${d.provider.padEnd(9)} ${String((d.body as { event?: string }).event ?? 'delivery').padEnd(12)} → ${status}`);
  }
  const want = new Map(expected.map((e) => [e.path, sha(demoMediaBytes(e.path)!.body)]));
  const keys = [...new Set(expected.map((e) => callKeyOf(e.provider, e.callId)))].map((callKey) => ({ callKey }));
  const deadline = Date.now() + timeoutS * 1000;
  let rows: Row[];
  for (;;) {
    const res = await doc.send(new BatchGetCommand({ RequestItems: { [endpoints.tables.calls]: { Keys: keys, ConsistentRead: true } } }));
    const items = new Map(((res.Responses?.[endpoints.tables.calls] ?? []) as CallRecord[]).map((i) => [i.callKey, i]));
    rows = expected.map((e) => {
      const info = items.get(callKeyOf(e.provider, e.callId))?.[e.media];
      return { e, info, match: info?.state === 'stored' && info.sha256 === want.get(e.path) };
    });
    const pending = rows.some((r) => !r.info || r.info.state === 'queued');
    if (!pending || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  printTable(rows);
  const mediaOk = rows.every((r) => r.match);
  console.log(
    mediaOk
      ? `\nAll ${rows.length} media files stored and verified.`
      : `\nNot all media were stored within ${timeoutS} s (is the local stack running its media poller?).`,
  );
  const cardsOk = await checkCards(endpoints, doc, cards, deadline);
  return mediaOk && cardsOk;
}

/** The contact the demo's Hipcall calls come from (seed 003's caller). */
const DEMO_CONTACT: Contact = {
  phone: '+442045205757',
  name: 'Jane Smith',
  company: 'Acme Corp',
  balance: 4250,
  link: 'https://crm.example.com/contacts/jane',
};

/** Every demo call_init has its Insight Card at the stand-in Hipcall API and `insight.state = sent` on its item. */
async function checkCards(endpoints: Endpoints, doc: DynamoDBDocumentClient, callIds: string[], deadline: number): Promise<boolean> {
  let found: { callId: string; card: unknown }[] = [];
  let states = new Map<string, string>();
  for (;;) {
    const res = await fetch(`${endpoints.hipcallMock}/_cards`, { signal: AbortSignal.timeout(5000) });
    found = ((await res.json()) as { callId: string; card: unknown }[]).filter((c) => callIds.includes(c.callId));
    const items = await doc.send(
      new BatchGetCommand({
        RequestItems: {
          [endpoints.tables.calls]: { Keys: callIds.map((id) => ({ callKey: callKeyOf('hipcall', id) })), ConsistentRead: true },
        },
      }),
    );
    states = new Map(
      ((items.Responses?.[endpoints.tables.calls] ?? []) as CallRecord[]).map((i) => [i.callId, i.insight?.state ?? 'none']),
    );
    const done = callIds.every((id) => found.some((c) => c.callId === id) && states.get(id) === 'sent');
    if (done || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  console.log('\nInsight Cards (Hipcall call_init → stand-in Hipcall API):');
  let ok = true;
  for (const id of callIds) {
    const card = found.find((c) => c.callId === id);
    const good = Boolean(card) && states.get(id) === 'sent';
    ok &&= good;
    console.log(
      `  ${id.padEnd(34)} insight=${(states.get(id) ?? 'none').padEnd(9)} card=${card ? 'received' : 'missing'}  ${good ? 'ok' : 'FAIL'}`,
    );
  }
  console.log(ok ? `All ${callIds.length} cards delivered.` : 'Not every card arrived (is the local stack running its insight poller?).');
  return ok;
}

function printTable(rows: Row[]): void {
  const table = rows.map((r) => ({
    call: r.e.callId,
    provider: r.e.provider,
    media: r.e.media,
    state: r.info?.state ?? 'missing',
    bytes: r.info?.bytes === undefined ? '' : String(r.info.bytes),
    sha256: r.info?.sha256 ? `${r.info.sha256.slice(0, 16)}…` : (r.info?.error ?? '').slice(0, 60),
    check: r.match ? 'ok' : 'FAIL',
  }));
  const cols = Object.keys(table[0]!) as (keyof (typeof table)[number])[];
  const width = (c: (typeof cols)[number]) => Math.max(c.length, ...table.map((t) => t[c].length));
  const line = (cells: Record<string, string>) =>
    cols.map((c) => (c === 'bytes' ? cells[c]!.padStart(width(c)) : cells[c]!.padEnd(width(c)))).join('  ');
  console.log('');
  console.log(line(Object.fromEntries(cols.map((c) => [c, c]))));
  console.log(cols.map((c) => '-'.repeat(width(c))).join('  '));
  for (const t of table) console.log(line(t));
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = demoArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message.replace(/^Unknown option '([^']+)'.*/s, 'Unknown option $1.')}\n\n${DEMO_USAGE}`);
    return 2;
  }
  if (opts.help) return (console.log(DEMO_USAGE), 0);
  const endpoints = await readLocalEndpoints();
  const doc = documentClient({ local: endpoints });
  try {
    if (opts.once) {
      console.log(`Playing the Hipcall, CallHippo and post-call sample flows against ${endpoints.api} ...`);
      return (await round(endpoints, doc, opts.timeoutS)) ? 0 : 1;
    }
    // Endless rounds stop with Ctrl-C, or when whoever started them (npm) goes away.
    let stopped = false;
    whenOrphaned(() => (stopped = true));
    for (let n = 1; !stopped; n++) {
      console.log(`\nRound ${n}: playing the sample flows against ${endpoints.api} ... (Ctrl-C to stop)`);
      await round(endpoints, doc, opts.timeoutS).catch((err: Error) => console.error(err.message));
      for (let waited = 0; waited < opts.everyS * 1000 && !stopped; waited += 250) await new Promise((r) => setTimeout(r, 250));
    }
    return 0;
  } finally {
    doc.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
