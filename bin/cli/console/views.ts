/**
 * The console's pages as server-rendered HTML: semantic elements, labelled fields, no script, no external
 * assets. Everything from the archive goes through `esc` (text and attributes) or `encodeURIComponent`
 * (paths): a provider's payload must never become markup.
 */
import type { CallRecord, CallStatus, MediaInfo } from '#core/types.ts';
import type { CallFilter, CallList, DeliveryEntry, SentCard } from './reader.ts';

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
<header><p><a href="/">CallVault console</a></p></header>
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
</form>`;
  if (v.problem) return page('Calls', `<h1>Calls</h1>\n${form}\n<p role="alert">${esc(v.problem)}</p>`);
  const list = v.list!;
  const scope = f.number
    ? `for ${f.number}${f.day ? ` on ${f.day}` : ''}`
    : f.day
      ? `on ${f.day}`
      : `of the last ${list.days?.length ?? 0} days`;
  const caption = `${list.calls.length}${list.truncated ? '+' : ''} call${list.calls.length === 1 ? '' : 's'} ${scope}, newest first`;
  const rows = list.calls.map(
    (c) => `<tr>
<td><a href="${esc(callPath(c))}"><time datetime="${esc(c.callAt ?? c.startedAt ?? '')}">${esc(shortTime(c.callAt ?? c.startedAt))}</time></a></td>
<td>${esc(c.direction)}</td>
<td>${esc(c.customerNumber ?? c.customerNumberAsSent ?? '')}</td>
<td>${esc(c.status)}</td>
<td class="num">${esc(duration(c.durationSec))}</td>
<td>${esc(c.source)}</td>
<td>${mediaBadge(c)}</td>
</tr>`,
  );
  const table = list.calls.length
    ? `<table>
<caption>${esc(caption)}</caption>
<thead><tr><th scope="col">When (UTC)</th><th scope="col">Direction</th><th scope="col">Customer</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Source</th><th scope="col">Media</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>${list.truncated ? `\n<p class="muted">Only the newest ${list.calls.length} are shown: narrow the filters (a day, a number) to see the rest.</p>` : ''}`
    : `<p>No calls ${esc(scope)}.${!f.number && !f.day ? ' Pick a day to look further back.' : ''}</p>`;
  return page('Calls', `<h1>Calls</h1>\n${form}\n${table}`);
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
    ['Customer', c.customerNumber ?? c.customerNumberAsSent],
    ['Started', c.startedAt],
    ['Answered', c.answeredAt],
    ['Ended', c.endedAt],
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

function deliveriesSection(c: CallRecord, deliveries: DeliveryEntry[]): string {
  const rows = deliveries.map(
    (d) =>
      `<tr><td><time datetime="${esc(d.receivedAt)}">${esc(shortTime(d.receivedAt))}</time></td><td>${esc(d.eventType)}</td><td class="num">${esc(d.bytes)}</td><td>${d.unapplied ? 'kept, not applied yet' : 'applied'}</td></tr>`,
  );
  const table = deliveries.length
    ? `<table><caption>${deliveries.length} deliver${deliveries.length === 1 ? 'y' : 'ies'} kept verbatim in raw/</caption><thead><tr><th scope="col">Received (UTC)</th><th scope="col">Event</th><th scope="col">Bytes</th><th scope="col">State</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    : '<p>No verbatim deliveries found under raw/ for this call.</p>';
  const applied = c.events?.length
    ? `<p class="muted">${c.events.length} delivery key${c.events.length === 1 ? '' : 's'} applied to the record · first written ${esc(c.createdAt)} · last updated ${esc(c.updatedAt)}</p>`
    : '';
  return `<section aria-labelledby="h-deliveries"><h2 id="h-deliveries">Delivery history</h2>\n${table}\n${applied}</section>`;
}

export function errorPage(status: number, message: string): string {
  return page(
    `Error ${status}`,
    `<h1>${status === 404 ? 'Not found' : 'Something went wrong'}</h1>\n<p role="alert">${esc(message)}</p>\n<p><a href="/">Back to the calls</a></p>`,
  );
}
