/**
 * `callvault deliveries refused|quarantined|show`: the deliveries CallVault refused (invalid JSON, no call
 * id, a bad signature, a body storage refuses), each kept in quarantine/ with the status it answered and
 * the reason, and any one stored delivery with its body: what a provider actually sent.
 */
import { CliError } from './context.ts';
import { openReader } from './calls.ts';
import { isDeliveryKey, listRefused, readDelivery, type RefusedDelivery, type StoredDelivery } from './deliveries-reader.ts';
import { dayFlag, parseCommand, TARGET_OPTIONS, today, UsageError, wholeNumber } from './front.ts';
import { jsonText, print, type Out } from './output.ts';

export const DELIVERIES_USAGE = `Usage: callvault deliveries refused|quarantined [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--source ID] [--limit 50] [--json] [--local] [--stack CallVault] [--region R]
       callvault deliveries show KEY [--json] [--local] [--stack CallVault] [--region R]
  refused, quarantined   the deliveries CallVault refused, newest first: when, which source, the status it
                         answered and why. Every refused delivery is kept in quarantine/, so both names list
                         the same deliveries (422s include ones refused when applied from the replay queue).
  show KEY               one delivery (a key from the list, or a raw/ key from the console's delivery
                         history) with its reason and the body exactly as it was sent
  --since, --until       days (UTC) of receipt; default the last 7 days, to today
  --source ID            only this source's deliveries
  --limit N              at most N deliveries (default 50); the list says when there were more`;

function listLines(list: RefusedDelivery[], truncated: boolean, limit: number, window: string): string[] {
  if (!list.length) return [`No refused deliveries ${window}.`];
  const lines = list.map((d) => `${d.receivedAt}  ${d.source.padEnd(10)} ${String(d.status).padEnd(4)} ${d.reason}\n  ${d.key}`);
  lines.push(
    truncated
      ? `More than ${limit} refused deliveries ${window}: the newest ${limit} are shown. Raise --limit, or narrow with --since/--until/--source.`
      : `${list.length} refused deliver${list.length === 1 ? 'y' : 'ies'} ${window}. Look at one: callvault deliveries show KEY`,
  );
  return lines;
}

function deliveryLines(d: StoredDelivery): string[] {
  const state = {
    refused: 'refused',
    applied: 'accepted and applied',
    unapplied: 'accepted, not applied yet',
    event: 'non-call event, archived',
  }[d.kind];
  const fields: [string, unknown][] = [
    ['Key', d.key],
    ['State', state],
    ['Source', d.source],
    ['Received', d.receivedAt],
    ['Answered', d.status],
    ['Reason', d.reason],
    ['Content-Type', d.contentType],
  ];
  const lines = fields.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${k.padEnd(13)} ${String(v)}`);
  lines.push('', 'Body, as sent:');
  if (d.bodyBase64 !== undefined) lines.push(`(not UTF-8 text; base64) ${d.bodyBase64}`);
  else lines.push(typeof d.body === 'string' ? d.body : jsonText(d.body));
  return lines;
}

export async function deliveriesCommand(argv: string[], out: Out = print): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') return (out(DELIVERIES_USAGE), 0);
  if (sub === undefined) throw new UsageError('Give a subcommand: refused, quarantined or show KEY.', DELIVERIES_USAGE);
  if (sub !== 'refused' && sub !== 'quarantined' && sub !== 'show')
    throw new UsageError(`Unknown subcommand "deliveries ${sub}".`, DELIVERIES_USAGE);
  const { values, positionals } = parseCommand(
    rest,
    DELIVERIES_USAGE,
    {
      ...TARGET_OPTIONS,
      since: { type: 'string' },
      until: { type: 'string' },
      source: { type: 'string' },
      limit: { type: 'string', default: '50' },
    },
    { positionals: sub === 'show' },
  );
  if (values.help) return (out(DELIVERIES_USAGE), 0);
  if (sub === 'show') {
    const [key, ...extra] = positionals;
    if (!key || extra.length) throw new UsageError('Give one delivery key, as "callvault deliveries refused" lists them.');
    if (!isDeliveryKey(key))
      throw new UsageError(`"${key}" is not a delivery key: they start with quarantine/, raw/ or events/ and end in .json.`);
    const reader = await openReader(values, {});
    try {
      const d = await readDelivery(reader, key);
      if (!d) throw new CliError(`No delivery ${key} in the archive. List the refused ones with "callvault deliveries refused".`);
      if (values.json) return (out(jsonText(d)), 0);
      for (const line of deliveryLines(d)) out(line);
      return 0;
    } finally {
      reader.destroy();
    }
  }
  const until = dayFlag('--until', values.until ?? today());
  const since = dayFlag('--since', values.since ?? today(new Date(Date.parse(`${until}T00:00:00Z`) - 6 * 86_400_000)));
  if (since > until) throw new UsageError(`--since (${since}) is after --until (${until}): swap them.`);
  const limit = wholeNumber('--limit', values.limit, { min: 1, max: 10_000 });
  const reader = await openReader(values, {});
  try {
    const { deliveries, truncated } = await listRefused(reader, {
      since,
      until,
      limit,
      ...(values.source ? { source: values.source } : {}),
    });
    if (values.json) return (out(jsonText(deliveries)), 0);
    const window = `${since === until ? `on ${since}` : `from ${since} to ${until}`}${values.source ? ` for source ${values.source}` : ''}`;
    for (const line of listLines(deliveries, truncated, limit, window)) out(line);
    return 0;
  } finally {
    reader.destroy();
  }
}
