/**
 * The console's pages as server-rendered HTML: semantic elements, labelled fields, no script, no external
 * assets. Everything from the archive goes through `esc` (text and attributes) or `encodeURIComponent`
 * (paths): a provider's payload must never become markup.
 */
import type { CallRecord, CallStatus, MediaInfo } from '#core/types.ts';
import type { CallFilter, CallList, DeliveryEntry, SentCard } from './reader.ts';
import type { RefusedDelivery, StoredDelivery } from '#bin/cli/deliveries-reader.ts';

export const STATUSES: readonly CallStatus[] = ['ringing', 'answered', 'completed', 'missed', 'failed', 'unknown'];
/** The media an `<audio>` player is shown for. */
export const PLAYABLE = ['recording', 'voicemail'] as const;
export type Playable = (typeof PLAYABLE)[number];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text of a value from the archive: strings, numbers and booleans as written, nothing for null, JSON for the rest. */
const plain = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
      ? String(v)
      : v === undefined || v === null
        ? ''
        : JSON.stringify(v);
/** Text or attribute value as HTML. */
export const esc = (v: unknown): string => plain(v).replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** The path of a call's page; its media lives below it. */
export const callPath = (c: { provider: string; callId: string }): string =>
  `/calls/${encodeURIComponent(c.provider)}/${encodeURIComponent(c.callId)}`;

export const STYLESHEET = `
:root { color-scheme: light dark; font: 15px/1.45 system-ui, sans-serif; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem 1.5rem 3rem; }
header a { color: inherit; text-decoration: none; }
form.filters { display: flex; flex-wrap: wrap; gap: .75rem 1rem; align-items: end; margin: 1rem 0; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; gap: .2rem; }
input, select, button { font: inherit; padding: .3rem .45rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #8884; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.25rem; }
dl.fields dt { font-weight: 600; }
dl.fields dd { margin: 0; }
section { margin: 1.75rem 0; }
audio { width: 100%; max-width: 40rem; display: block; margin: .4rem 0; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #8881; padding: .6rem; }
.muted { opacity: .75; }
.state-failed, .state-expired, .state-rejected { color: #c33; }
header nav { display: flex; gap: 1.25rem; align-items: baseline; }
header nav a:first-child { font-weight: 600; }
nav.pages { display: flex; gap: 1rem; margin: 1rem 0; }
.local { display: block; font-size: .85rem; opacity: .75; }
td.reason { max-width: 32rem; overflow-wrap: anywhere; }
ol.transcript { padding-left: 0; list-style: none; }
ol.transcript li { margin: .3rem 0; }
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)} · CallVault console</title>
<link rel="stylesheet" href="/console.css">
</head>
<body>
<header><nav aria-label="Console"><a href="/">CallVault console</a><a href="/">Calls</a><a href="/deliveries">Refused deliveries</a></nav></header>
<main>
${body}
</main>
</body>
</html>
`;
}

const option = (value: string, label: string, selected: boolean) =>
  `<option value="${esc(value)}"${selected ? ' selected' : ''}>${esc(label)}</option>`;

/** What the list page's form shows: the filters as the user typed them, and the choices. */
export interface ListView {
  /** The number as typed (shown back in the field). */
  numberAsTyped?: string;
  filter: CallFilter;
  sources: string[];
  list?: CallList;
  /** The cursor this page started from, when it is not the first. */
  after?: string;
  /** The call id typed into the search, shown back. */
  callAsTyped?: string;
  /** A filter the user must correct (shown instead of the list). */
  problem?: string;
}

export function listPage(v: ListView): string {
  const f = v.filter;
  const form = `<form class="filters" method="get" action="/" role="search" aria-label="Filter calls">
<label for="number">Number<input id="number" name="number" type="search" inputmode="tel" autocomplete="off" value="${esc(v.numberAsTyped ?? '')}" placeholder="+44 20 4520 5757"></label>
<label for="day">Day (UTC)<input id="day" name="day" type="date" value="${esc(f.day ?? '')}"></label>
<label for="source">Source<select id="source" name="source">${option('', 'any', !f.source)}${v.sources.map((s) => option(s, s, f.source === s)).join('')}</select></label>
<label for="status">Status<select id="status" name="status">${option('', 'any', !f.status)}${STATUSES.map((s) => option(s, s, f.status === s)).join('')}</select></label>
<button type="submit">Show calls</button>
<a href="/">Clear</a>
</form>
<form class="filters" method="get" action="/find" role="search" aria-label="Find a call by id">
<label for="call">Call id<input id="call" name="call" type="search" autocomplete="off" value="${esc(v.callAsTyped ?? '')}" placeholder="hipcall#9b3a… or the id alone"></label>
<button type="submit">Open call</button>
</form>`;
  if (v.problem) return page('Calls', `<h1>Calls</h1>\n${form}\n<p role="alert">${esc(v.problem)}</p>`);
  const list = v.list!;
  const scope = f.number
    ? `for ${f.number}${f.day ? ` on ${f.day}` : ''}`
    : f.day
      ? `on ${f.day}`
      : `of the last ${list.days?.length ?? 0} days`;
  const from = v.after ? ' (continued)' : '';
  const caption = `${list.calls.length} call${list.calls.length === 1 ? '' : 's'} ${scope}, newest first${from}`;
  const rows = list.calls.map((c) => {
    const name = c.customerNumber ? list.names[c.customerNumber] : undefined;
    return `<tr>
<td><a href="${esc(callPath(c))}">${timeCell(c.callAt ?? c.startedAt)}</a></td>
<td>${esc(c.direction)}</td>
<td>${name ? `<strong>${esc(name)}</strong><span class="local">${esc(c.customerNumber)}</span>` : esc(c.customerNumber ?? c.customerNumberAsSent ?? '')}</td>
<td>${esc(agentOf(c))}</td>
<td>${esc(c.status)}</td>
<td class="num">${esc(duration(c.durationSec))}</td>
<td>${esc(c.source)}</td>
<td>${mediaBadge(c)}</td>
</tr>`;
  });
  const query = new URLSearchParams();
  if (v.numberAsTyped) query.set('number', v.numberAsTyped);
  for (const [k, val] of [
    ['day', f.day],
    ['source', f.source],
    ['status', f.status],
  ] as const)
    if (val) query.set(k, val);
  const first = `/${query.size ? `?${query.toString()}` : ''}`;
  if (list.next) query.set('after', list.next);
  const pages = [
    v.after ? `<a href="${esc(first)}">First page</a>` : '',
    list.next ? `<a href="/?${esc(query.toString())}" rel="next">Next page</a>` : '',
  ].filter(Boolean);
  const nav = pages.length ? `\n<nav class="pages" aria-label="Pages">${pages.join('')}</nav>` : '';
  const table = list.calls.length
    ? `<table>
<caption>${esc(caption)}</caption>
<thead><tr><th scope="col">When (UTC · ${esc(localZone())})</th><th scope="col">Direction</th><th scope="col">Customer</th><th scope="col">Agent</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Source</th><th scope="col">Media</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>${nav}`
    : `<p>No ${v.after ? 'more ' : ''}calls ${esc(scope)}.${!f.number && !f.day ? ' Pick a day to look further back.' : ''}</p>${nav}`;
  return page('Calls', `<h1>Calls</h1>\n${form}\n${table}`);
}

/** Who handled the call: the agent's name, else email, else id. */
const agentOf = (c: CallRecord) => c.agent?.name ?? c.agent?.email ?? c.agent?.id ?? '';

/** A moment in this machine's time zone: `2 Apr 2026, 10:00:05 BST`. */
const LOCAL_TIME = new Intl.DateTimeFormat('en-GB', {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
});

/** The machine's own time zone, as the console shows local times in it. */
export function localZone(): string {
  return (
    new Intl.DateTimeFormat('en-GB', { timeZoneName: 'short' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value ??
    'local'
  );
}

/** `2026-04-02 09:00:05` UTC and, below it, the same moment in this machine's time zone. */
function timeCell(iso: string | undefined): string {
  if (!iso) return '';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return esc(iso);
  const local = LOCAL_TIME.format(t);
  return `<time datetime="${esc(iso)}">${esc(shortTime(iso))}</time><span class="local">${esc(local)}</span>`;
}

function mediaBadge(c: CallRecord): string {
  const parts = (['recording', 'voicemail', 'transcript'] as const).filter((m) => c[m]).map((m) => `${m} ${c[m]!.state}`);
  return esc(parts.join(', '));
}

const shortTime = (iso: string | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '');

function duration(sec: number | undefined): string {
  if (sec === undefined || sec === null || !Number.isFinite(Number(sec))) return '';
  const s = Math.round(Number(sec));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** What a call's page shows beyond the item itself. */
export interface CallView {
  call: CallRecord;
  /** The customer's name from the contacts table. */
  contact?: string;
  transcript?: unknown;
  analysis?: unknown;
  caller?: unknown;
  card?: SentCard;
  deliveries: DeliveryEntry[];
}

export function callPage(v: CallView): string {
  const c = v.call;
  const title = `${c.provider} call ${c.callId}`;
  const fields: [string, unknown][] = [
    ['Status', c.status],
    ['Direction', c.direction],
    ['Kind', c.kind],
    ['From', c.fromNumber],
    ['To', c.toNumber],
    ['Customer', [v.contact, c.customerNumber ?? c.customerNumberAsSent].filter(Boolean).join(' · ')],
    ['Started', withLocal(c.startedAt)],
    ['Answered', withLocal(c.answeredAt)],
    ['Ended', withLocal(c.endedAt)],
    ['Duration', c.durationSec !== undefined ? `${duration(c.durationSec)} (${c.durationSec} s)` : undefined],
    ['Hung up by', c.hangupBy],
    ['Agent', c.agent ? [c.agent.name, c.agent.email, c.agent.id].filter(Boolean).join(' · ') : undefined],
    ['Source', c.source],
    ['Provider', c.provider],
    ['Call id', c.callId],
  ];
  const sections = [
    `<h1>${esc(title)}</h1>`,
    `<section aria-labelledby="h-summary"><h2 id="h-summary">Summary</h2>\n${definitionList(fields)}</section>`,
    mediaSection(c),
    transcriptSection(c.transcript, v.transcript),
    extrasSection('analysis', 'AI analysis', v.analysis),
    extrasSection('caller', 'Caller details', v.caller),
    insightSection(c, v.card),
    deliveriesSection(c, v.deliveries),
  ];
  return page(title, sections.filter(Boolean).join('\n'));
}

/** An ISO time and the same moment in this machine's time zone. */
function withLocal(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  return `${iso} (${LOCAL_TIME.format(t)})`;
}

function definitionList(fields: [string, unknown][]): string {
  const shown = fields.filter(([, v]) => v !== undefined && v !== null && v !== '');
  return `<dl class="fields">${shown.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(typeof v === 'object' ? JSON.stringify(v) : v)}</dd>`).join('')}</dl>`;
}

function mediaState(info: MediaInfo): string {
  const detail = [info.state, info.bytes !== undefined ? `${info.bytes} bytes` : '', info.contentType ?? '', info.error ?? '']
    .filter(Boolean)
    .join(' · ');
  return `<p class="state-${esc(info.state)}">${esc(detail)}</p>`;
}

function mediaSection(c: CallRecord): string {
  const parts = PLAYABLE.filter((m) => c[m]).map((m) => {
    const info = c[m]!;
    const label = m === 'recording' ? 'Recording' : 'Voicemail';
    if (info.state !== 'stored' || !info.s3Key) return `<h3>${label}</h3>\n${mediaState(info)}`;
    const src = `${callPath(c)}/${m}`;
    return `<h3 id="h-${m}">${label}</h3>
<audio controls preload="metadata" src="${esc(src)}" aria-labelledby="h-${m}"></audio>
${mediaState(info)}<p><a href="${esc(src)}?download=1" download>Download the ${m}</a></p>`;
  });
  if (!parts.length)
    return `<section aria-labelledby="h-media"><h2 id="h-media">Audio</h2><p>No recording or voicemail for this call.</p></section>`;
  return `<section aria-labelledby="h-media"><h2 id="h-media">Audio</h2>\n${parts.join('\n')}</section>`;
}

interface Turn {
  speaker?: unknown;
  start?: unknown;
  text?: unknown;
}

function transcriptSection(info: MediaInfo | undefined, body: unknown): string {
  if (!info) return '';
  let content: string;
  const turns = (body as { turns?: unknown } | undefined)?.turns;
  if (info.state !== 'stored') content = mediaState(info);
  else if (Array.isArray(turns)) {
    content = `<ol class="transcript">${(turns as Turn[])
      .map(
        (t) =>
          `<li>${typeof t.start === 'number' ? `<span class="muted">[${esc(t.start.toFixed(1))} s]</span> ` : ''}<strong>${esc(t.speaker ?? '')}</strong>: ${esc(t.text ?? '')}</li>`,
      )
      .join('')}</ol>`;
  } else if (typeof body === 'string') content = `<pre>${esc(body)}</pre>`;
  else if (body !== undefined) content = `<pre>${esc(JSON.stringify(body, null, 2))}</pre>`;
  else content = `<p>The transcript is stored (${esc(info.s3Key)}) but too large to show here.</p>`;
  return `<section aria-labelledby="h-transcript"><h2 id="h-transcript">Transcript</h2>\n${content}</section>`;
}

function extrasSection(id: string, heading: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  let content: string;
  if (typeof value === 'object' && !Array.isArray(value)) {
    content = definitionList(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, v]));
  } else content = `<pre>${esc(typeof value === 'string' ? value : JSON.stringify(value, null, 2))}</pre>`;
  return `<section aria-labelledby="h-${id}"><h2 id="h-${id}">${esc(heading)}</h2>\n${content}</section>`;
}

function insightSection(c: CallRecord, card: SentCard | undefined): string {
  if (c.provider !== 'hipcall' && !c.insight) return '';
  const i = c.insight;
  const outcome = i
    ? definitionList([
        ['Outcome', i.state],
        ['HTTP status', i.httpStatus],
        ['At', i.at],
        ['Error', i.error],
      ])
    : '<p>No Insight Card outcome recorded for this call.</p>';
  const rows = card?.length
    ? `<h3>Card as sent</h3>
<table><thead><tr><th scope="col">Row</th><th scope="col">Label</th><th scope="col">Text</th><th scope="col">Link</th></tr></thead><tbody>${card
        .map(
          (r) =>
            `<tr><td>${esc(r.type)}</td><td>${esc(r.label ?? '')}</td><td>${esc(r.text ?? r.user_id ?? '')}</td><td>${esc(r.link ?? '')}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : i?.state === 'sent'
      ? '<p class="muted">The card content is not kept in the archive, only the outcome.</p>'
      : '';
  return `<section aria-labelledby="h-insight"><h2 id="h-insight">Insight Card</h2>\n${outcome}\n${rows}</section>`;
}

/** The path of one of a call's deliveries (its raw/ object's file name), under the call's page. */
export const deliveryPath = (c: { provider: string; callId: string }, d: { key: string }): string =>
  `${callPath(c)}/deliveries/${encodeURIComponent(d.key.split('/').pop()!)}`;

function deliveriesSection(c: CallRecord, deliveries: DeliveryEntry[]): string {
  const rows = deliveries.map(
    (d) =>
      `<tr><td><a href="${esc(deliveryPath(c, d))}">${timeCell(d.receivedAt)}</a></td><td>${esc(d.eventType)}</td><td class="num">${esc(d.bytes)}</td><td>${d.unapplied ? 'kept, not applied yet' : 'applied'}</td></tr>`,
  );
  const table = deliveries.length
    ? `<table><caption>${deliveries.length} deliver${deliveries.length === 1 ? 'y' : 'ies'} kept verbatim in raw/: open one to see it as it was sent</caption><thead><tr><th scope="col">Received</th><th scope="col">Event</th><th scope="col">Bytes</th><th scope="col">State</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    : '<p>No verbatim deliveries found under raw/ for this call.</p>';
  const applied = c.events?.length
    ? `<p class="muted">${c.events.length} delivery key${c.events.length === 1 ? '' : 's'} applied to the record · first written ${esc(c.createdAt)} · last updated ${esc(c.updatedAt)}</p>`
    : '';
  return `<section aria-labelledby="h-deliveries"><h2 id="h-deliveries">Delivery history</h2>\n${table}\n${applied}</section>`;
}

/** One delivery as it was sent, with what CallVault made of it. */
export function deliveryPage(d: StoredDelivery, back: { href: string; label: string }): string {
  const state = {
    refused: 'refused',
    applied: 'accepted and applied',
    unapplied: 'accepted, not applied yet',
    event: 'non-call event, archived',
  }[d.kind];
  const fields: [string, unknown][] = [
    ['State', state],
    ['Source', d.source],
    ['Received', withLocal(d.receivedAt)],
    ['Answered', d.status],
    ['Reason', d.reason],
    ['Content-Type', d.contentType],
    ['Key', d.key],
  ];
  const body =
    d.bodyBase64 !== undefined
      ? `<p>The body is not UTF-8 text; base64:</p><pre>${esc(d.bodyBase64)}</pre>`
      : `<pre>${esc(typeof d.body === 'string' ? d.body : JSON.stringify(d.body, null, 2))}</pre>`;
  return page(
    'Delivery',
    `<h1>Delivery as sent</h1>
<p><a href="${esc(back.href)}">${esc(back.label)}</a></p>
<section aria-labelledby="h-about"><h2 id="h-about">About it</h2>\n${definitionList(fields)}</section>
<section aria-labelledby="h-body"><h2 id="h-body">Body</h2>\n${body}</section>`,
  );
}

/** The deliveries CallVault refused (quarantine/), newest first. */
export function refusedPage(v: { since: string; until: string; list: RefusedDelivery[]; truncated: boolean; problem?: string }): string {
  const form = `<form class="filters" method="get" action="/deliveries" aria-label="Received between">
<label for="since">From (UTC)<input id="since" name="since" type="date" value="${esc(v.since)}"></label>
<label for="until">To (UTC)<input id="until" name="until" type="date" value="${esc(v.until)}"></label>
<button type="submit">Show</button>
</form>`;
  if (v.problem) return page('Refused deliveries', `<h1>Refused deliveries</h1>\n${form}\n<p role="alert">${esc(v.problem)}</p>`);
  const rows = v.list.map(
    (d) =>
      `<tr><td><a href="/deliveries/show?key=${esc(encodeURIComponent(d.key))}">${timeCell(d.receivedAt)}</a></td><td>${esc(d.source)}</td><td class="num">${esc(d.status)}</td><td class="reason">${esc(d.reason)}</td><td class="num">${esc(d.bytes)}</td></tr>`,
  );
  const table = v.list.length
    ? `<table><caption>${v.list.length}${v.truncated ? '+' : ''} refused deliver${v.list.length === 1 ? 'y' : 'ies'} from ${esc(v.since)} to ${esc(v.until)}, newest first: each is kept in quarantine/ with the reason</caption>
<thead><tr><th scope="col">Received</th><th scope="col">Source</th><th scope="col">Answered</th><th scope="col">Reason</th><th scope="col">Bytes</th></tr></thead><tbody>${rows.join('')}</tbody></table>${v.truncated ? '\n<p class="muted">Only the newest are shown: narrow the days to see the rest.</p>' : ''}`
    : `<p>No refused deliveries from ${esc(v.since)} to ${esc(v.until)}.</p>`;
  return page('Refused deliveries', `<h1>Refused deliveries</h1>\n${form}\n${table}`);
}

export function errorPage(status: number, message: string): string {
  return page(
    `Error ${status}`,
    `<h1>${status === 404 ? 'Not found' : 'Something went wrong'}</h1>\n<p role="alert">${esc(message)}</p>\n<p><a href="/">Back to the calls</a></p>`,
  );
}
