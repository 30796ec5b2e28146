/**
 * `callvault calls list|get|download|export`: find calls, read one with links to its media, save its
 * media, or export a window of the archive (JSON Lines plus media files) that resumes where it stopped
 * and checks every file against the sha256 the media worker recorded when it stored it.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { CALL_INDEX_TIME } from '#contract/resources.ts';
import type { CallRecord } from '#core/types.ts';
import { ArchiveReader, isProvider, sha256Hasher, storedMedia, type ReaderClient, type StoredMedia } from './archive-reader.ts';
import { CliError, readLocalEndpoints, stackOutputs } from './context.ts';
import { dayFlag, parseCommand, TARGET_OPTIONS, timeFlag, today, UsageError, wholeNumber } from './front.ts';
import { jsonText, print, printError, type Out, type ProgressStream } from './output.ts';
import { readProjectConfig } from '#bin/local/project-config.ts';

export { dayFlag } from './front.ts';

/** What a test (or a caller embedding the CLI) may pass in besides the arguments. */
export interface CallsIo {
  /** Ends an export early, as Ctrl-C would; what is done stays done. */
  signal?: AbortSignal;
  /** Called after each exported file is written and verified. */
  onFile?: (file: ExportedFile) => void;
  /** Where notes beside a --json result go (stderr by default). */
  notice?: Out;
  /** Gets every SDK client the command builds (tests count requests). */
  instrument?: (client: ReaderClient) => void;
  /** Where progress goes (default stderr); never used with --json. */
  progress?: ProgressStream;
}

const common = TARGET_OPTIONS;

const TARGET = '[--json] [--local] [--stack CallVault] [--region R]';

export const CALLS_LIST_USAGE = `Usage: callvault calls list [--day YYYY-MM-DD | --customer NUMBER] [--from TIME] [--to TIME] [--newest] [--limit 50] ${TARGET}
Lists calls of one day (byDay index; default today, UTC) or of one customer (byCustomerNumber index), oldest
first, by callAt: the call's start time, or when it has none (post-call deliveries, status-only calls) its
first delivery's time. Reads only the index: one query per page, whatever the size of the archive.
  --from, --to   only calls with callAt in [from, to] (ISO-8601 UTC, e.g. 2026-04-02T09:00:00Z, or a day)
  --newest       newest first
  --limit N      at most N calls (default 50); the list says when there were more
The first column, PROVIDER#CALL_ID, is what "callvault calls get" takes.
("callvault calls --day ..." without "list" works too.)`;

export const CALLS_GET_USAGE = `Usage: callvault calls get PROVIDER#CALL_ID | PROVIDER CALL_ID [--expires 3600] ${TARGET}
Prints a summary of the call and a pre-signed link to each stored media file (valid --expires seconds);
--json prints {"call": the item, "media": [the links]}. PROVIDER is hipcall, callhippo or postcall.`;

export const CALLS_DOWNLOAD_USAGE = `Usage: callvault calls download PROVIDER#CALL_ID | PROVIDER CALL_ID [--out DIR] ${TARGET}
Saves the call's stored recording, voicemail and transcript into DIR (default: the current directory)
as {callId}.{media}.{ext}, each checked against the sha256 recorded when it was stored.`;

export const CALLS_EXPORT_USAGE = `Usage: callvault calls export --since YYYY-MM-DD --until YYYY-MM-DD --out DIR ${TARGET}
Writes every call with callAt in the window to DIR/calls.jsonl (one record per line) and its stored media
to DIR under the archive's own keys (recordings/..., voicemails/..., transcripts/...), then DIR/manifest.json.
Each file is checked against the sha256 recorded when it was stored. Interrupted? Run the same command
again: files already present and verified are skipped (DIR/.export-state.json remembers them).`;

export const CALLS_USAGE = `Usage: callvault calls <list|get|download|export> [options]
  list      calls of one day or one customer
  get       one call's record and links to its media
  download  one call's media files
  export    a window of the archive as JSON Lines plus media, resumable
Run "callvault calls <subcommand> --help" for its options.`;

/** The archive of the local stack or of the deployed stack. */
export async function openReader(
  values: { local: boolean; stack: string; region?: string | undefined },
  io: CallsIo,
): Promise<ArchiveReader> {
  const instrument = io.instrument ? { instrument: io.instrument } : {};
  if (values.local) {
    const e = await readLocalEndpoints();
    return new ArchiveReader({ table: e.tables.calls, bucket: e.bucket, local: e, ...instrument });
  }
  const o = await stackOutputs(values.stack, values.region);
  if (!o.CallsTableName || !o.ArchiveBucketName)
    throw new CliError(
      `Stack "${values.stack}" has no CallsTableName or ArchiveBucketName output: is it a CallVault stack? Pass --stack NAME, or --local.`,
    );
  return new ArchiveReader({
    table: o.CallsTableName,
    bucket: o.ArchiveBucketName,
    ...(values.region ? { region: values.region } : {}),
    ...instrument,
  });
}

export async function callsCommand(argv: string[], out: Out = print, io: CallsIo = {}): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'list':
      return listCommand(rest, out, io);
    case 'get':
      return getCommand(rest, out, io);
    case 'download':
      return downloadCommand(rest, out, io);
    case 'export':
      return exportCommand(rest, out, io);
    case undefined:
      throw new UsageError('Give a subcommand: list, get, download or export.', CALLS_USAGE);
    case '--help':
    case '-h':
      out(CALLS_USAGE);
      return 0;
    default:
      // `calls --day D` predates the subcommands: still a list.
      if (sub.startsWith('-')) return listCommand(argv, out, io);
      throw new UsageError(`Unknown subcommand "calls ${sub}".`, CALLS_USAGE);
  }
}

async function listCommand(argv: string[], out: Out, io: CallsIo): Promise<number> {
  const { values } = parseCommand(argv, CALLS_LIST_USAGE, {
    ...common,
    day: { type: 'string' },
    customer: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    newest: { type: 'boolean', default: false },
    limit: { type: 'string', default: '50' },
  });
  if (values.help) return (out(CALLS_LIST_USAGE), 0);
  if (values.day !== undefined && values.customer !== undefined) throw new UsageError('Give --day or --customer, not both.');
  const day = values.customer === undefined ? dayFlag('--day', values.day ?? today()) : undefined;
  const limit = wholeNumber('--limit', values.limit, { min: 1 });
  const from = values.from === undefined ? undefined : timeFlag('--from', values.from);
  // A bare day as --to means up to the end of that day.
  const to = values.to === undefined ? undefined : timeFlag('--to', values.to, { endOfDay: true });
  if (from && to && from > to) throw new UsageError(`--from (${from}) is after --to (${to}): swap them.`);
  let customer = values.customer;
  if (customer !== undefined) {
    if (!customer.trim() || customer.length > 64) throw new UsageError(`--customer must be a phone number, not "${customer}".`);
    const { toE164 } = await import('#core/phone.ts');
    customer = toE164(customer, (await readProjectConfig()).defaultCountry) ?? customer;
  }
  const reader = await openReader(values, io);
  try {
    // One more than asked for: the list can then say that it was cut.
    const found = await reader.listCalls(
      { ...(day ? { day } : { customer: customer! }), ...(from ? { from } : {}), ...(to ? { to } : {}), newestFirst: values.newest },
      limit + 1,
    );
    const items = found.slice(0, limit);
    const cut = found.length > limit;
    const more = `More than ${limit} calls matched: only the ${values.newest ? 'newest' : 'oldest'} ${limit} are shown. Raise --limit, or narrow with --from/--to.`;
    if (values.json) {
      if (cut) (io.notice ?? printError)(more);
      return (out(jsonText(items)), 0);
    }
    if (!items.length) return (out(`No calls ${day ? `on ${day} (UTC)` : `for ${customer}`}.`), 0);
    for (const line of callTable(items)) out(line);
    out(cut ? more : `${items.length} call${items.length === 1 ? '' : 's'}.`);
    return 0;
  } finally {
    reader.destroy();
  }
}

/** The columns of `calls list`: the call key first, as `calls get` takes it. */
export function callTable(items: CallRecord[]): string[] {
  const media = (m: { state?: string } | undefined) => m?.state ?? '-';
  const rows = items.map((i) => [
    String(i.callKey),
    String(i.callAt ?? i.startedAt ?? ''),
    String(i.direction ?? ''),
    String(i.status ?? ''),
    i.durationSec === undefined || i.durationSec === null ? '' : String(i.durationSec),
    String(i.customerNumber ?? i.customerNumberAsSent ?? ''),
    String(i.agent?.name ?? i.agent?.email ?? i.agent?.id ?? ''),
    media(i.recording),
    media(i.voicemail),
  ]);
  const head = ['call', CALL_INDEX_TIME, 'dir', 'status', 'secs', 'customer', 'agent', 'recording', 'voicemail'];
  const widths = head.map((h, c) => Math.min(c === 0 ? 48 : 32, Math.max(h.length, ...rows.map((r) => r[c]!.length))));
  const line = (cells: string[]) =>
    cells
      .map((v, c) => {
        const cell = v.length > widths[c]! ? `${v.slice(0, widths[c]! - 1)}…` : v;
        return c === 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!);
      })
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The call named by `PROVIDER#CALL_ID` (as `calls list` prints it) or by `PROVIDER CALL_ID`, checked. */
export function callRef(positionals: string[]): { provider: Parameters<ArchiveReader['getCall']>[0]; callId: string } {
  const hash = positionals.length === 1 ? positionals[0]!.indexOf('#') : -1;
  const [provider, callId, ...extra] = hash > 0 ? [positionals[0]!.slice(0, hash), positionals[0]!.slice(hash + 1)] : positionals;
  if (!provider || !callId || extra.length)
    throw new UsageError('Give the call as PROVIDER#CALL_ID (the first column of "callvault calls list"), or as PROVIDER CALL_ID.');
  if (!isProvider(provider)) throw new UsageError(`"${provider}" is not a provider: use hipcall, callhippo or postcall.`);
  return { provider, callId };
}

async function foundCall(reader: ArchiveReader, provider: Parameters<ArchiveReader['getCall']>[0], callId: string): Promise<CallRecord> {
  const call = await reader.getCall(provider, callId);
  if (!call)
    throw new CliError(
      `No call ${provider}#${callId} in the archive. Find its id with "callvault calls list --day YYYY-MM-DD" or "--customer NUMBER".`,
    );
  return call;
}

/** `1:05 (65 s)` */
const duration = (sec: number) => `${Math.floor(sec / 60)}:${String(Math.round(sec) % 60).padStart(2, '0')} (${sec} s)`;

/** A call as a person reads it: what happened, who, when, and where its media is. */
export function callSummary(call: CallRecord): string[] {
  const fields: [string, unknown][] = [
    ['Status', call.status],
    ['Direction', call.direction],
    ['Kind', call.kind],
    ['Customer', call.customerNumber ?? call.customerNumberAsSent],
    ['From', call.fromNumber],
    ['To', call.toNumber],
    ['Started', call.startedAt],
    ['Answered', call.answeredAt],
    ['Ended', call.endedAt],
    ['Duration', typeof call.durationSec === 'number' ? duration(call.durationSec) : undefined],
    ['Hung up by', call.hangupBy],
    ['Agent', call.agent ? [call.agent.name, call.agent.email, call.agent.id].filter(Boolean).join(' · ') : undefined],
    ['Source', call.source],
    ...(['recording', 'voicemail', 'transcript'] as const).map((m): [string, unknown] => {
      const info = call[m];
      return [
        m[0]!.toUpperCase() + m.slice(1),
        info
          ? [info.state, info.bytes !== undefined ? `${info.bytes} bytes` : '', info.contentType ?? '', info.error ?? '']
              .filter(Boolean)
              .join(' · ')
          : undefined,
      ];
    }),
    ['Insight Card', call.insight ? [call.insight.state, call.insight.httpStatus, call.insight.at].filter(Boolean).join(' · ') : undefined],
    ['Deliveries', `${call.events?.length ?? 0} applied · first ${call.createdAt} · last ${call.updatedAt}`],
  ];
  const shown = fields.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const width = Math.max(...shown.map(([k]) => k.length));
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  return [call.callKey, ...shown.map(([k, v]) => `  ${k.padEnd(width)}  ${text(v)}`)];
}

async function getCommand(argv: string[], out: Out, io: CallsIo): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    CALLS_GET_USAGE,
    { ...common, expires: { type: 'string', default: '3600' } },
    { positionals: true },
  );
  if (values.help) return (out(CALLS_GET_USAGE), 0);
  const { provider, callId } = callRef(positionals);
  // S3 refuses a SigV4 link valid for more than 7 days.
  const expires = wholeNumber('--expires', values.expires, { min: 1, max: 604_800 });
  const reader = await openReader(values, io);
  try {
    const call = await foundCall(reader, provider, callId);
    const media = await reader.mediaLinks(call, expires);
    if (values.json) return (out(jsonText({ call, media })), 0);
    for (const line of callSummary(call)) out(line);
    for (const m of media)
      out(`\n${m.media} (${m.contentType ?? 'unknown type'}, ${m.bytes ?? '?'} bytes, link valid until ${m.expiresAt}):\n${m.url}`);
    if (!media.length) out('\nNo stored media to link to.');
    out(`\nThe whole item: callvault calls get ${call.callKey} --json${values.local ? ' --local' : ''}`);
    return 0;
  } finally {
    reader.destroy();
  }
}

/** One file written by download or export. */
export interface ExportedFile {
  callKey: string;
  media: StoredMedia['media'];
  /** Relative to the output directory. */
  path: string;
  bytes: number;
  sha256: string;
  /** False only when the item has no sha256 to check against (stored before the worker recorded one). */
  verified: boolean;
  /** True when the file was already there and verified, so nothing was downloaded. */
  skipped?: boolean;
}

/** Hex SHA-256 and size of a file on disk, or undefined when there is none. */
async function hashFile(path: string): Promise<{ sha256: string; bytes: number } | undefined> {
  try {
    const hash = sha256Hasher();
    let bytes = 0;
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
    }
    return { sha256: hash.digest('hex'), bytes };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Stream one stored object to `path` through a hash: it lands under its name only when it matches the
 * recorded sha256 (a `.part` file holds it meanwhile, so an interrupted download never looks complete).
 */
async function fetchVerified(
  reader: ArchiveReader,
  m: StoredMedia,
  path: string,
  signal?: AbortSignal,
): Promise<{ sha256: string; bytes: number; verified: boolean }> {
  await mkdir(dirname(path), { recursive: true });
  const part = `${path}.part`;
  const hash = sha256Hasher();
  let bytes = 0;
  const { body } = await reader.openObject(m.s3Key, signal);
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, tap, createWriteStream(part), signal ? { signal } : {});
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  const sha256 = hash.digest('hex');
  if (m.sha256 && m.sha256 !== sha256) {
    await rm(part, { force: true });
    throw new CliError(
      `${m.s3Key} does not match its recorded sha256 (expected ${m.sha256}, got ${sha256}); it was not saved. Run the command again; if it persists, the stored object has changed since it was recorded.`,
    );
  }
  await rename(part, path);
  return { sha256, bytes, verified: Boolean(m.sha256) };
}

/** `x.mp3` of a recording becomes `x.recording.mp3`: a call's recording and voicemail may share a base name. */
function downloadName(m: StoredMedia): string {
  const name = basename(m.s3Key);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}.${m.media}${name.slice(dot)}` : `${name}.${m.media}`;
}

async function downloadCommand(argv: string[], out: Out, io: CallsIo): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    CALLS_DOWNLOAD_USAGE,
    { ...common, out: { type: 'string', default: '.' } },
    { positionals: true },
  );
  if (values.help) return (out(CALLS_DOWNLOAD_USAGE), 0);
  const { provider, callId } = callRef(positionals);
  const dir = resolve(values.out);
  const reader = await openReader(values, io);
  try {
    const call = await foundCall(reader, provider, callId);
    const media = storedMedia(call);
    if (!media.length) {
      const states = ['recording', 'voicemail', 'transcript'].map((m) => `${m}: ${call[m as 'recording']?.state ?? 'none'}`).join(', ');
      throw new CliError(
        `Call ${call.callKey} has no stored media yet (${states}). A queued file is stored within minutes; a failed or expired one may be fetched again by "callvault reconcile".`,
      );
    }
    const files: ExportedFile[] = [];
    for (const m of media) {
      const name = downloadName(m);
      const got = await fetchVerified(reader, m, join(dir, name), io.signal);
      files.push({ callKey: call.callKey, media: m.media, path: name, ...got });
    }
    if (values.json) return (out(jsonText({ callKey: call.callKey, dir, files })), 0);
    for (const f of files)
      out(
        `${f.media.padEnd(11)} ${join(dir, f.path)} (${f.bytes} bytes, ${f.verified ? 'sha256 verified' : 'no sha256 recorded to verify'})`,
      );
    return 0;
  } finally {
    reader.destroy();
  }
}

/** What an export remembers between runs: its window, and each file already written and verified. */
interface ExportState {
  since: string;
  until: string;
  files: Record<string, { sha256: string; bytes: number; mtimeMs: number }>;
}

export const EXPORT_STATE = '.export-state.json';

/** The result of `calls export`, also written as DIR/manifest.json. */
export interface ExportResult {
  since: string;
  until: string;
  dir: string;
  calls: number;
  files: ExportedFile[];
  downloaded: number;
  skipped: number;
  bytes: number;
}

async function readState(dir: string, since: string, until: string): Promise<ExportState> {
  let text: string;
  try {
    text = await readFile(join(dir, EXPORT_STATE), 'utf8');
  } catch {
    return { since, until, files: {} };
  }
  const state = JSON.parse(text) as ExportState;
  if (state.since !== since || state.until !== until) {
    throw new CliError(
      `${dir} holds an export of ${state.since}..${state.until}, not ${since}..${until}. Export into another directory, or delete ${join(dir, EXPORT_STATE)} to start this one there.`,
    );
  }
  return state;
}

/** Written to a temp name and renamed: a state file is never half-written when the export stops. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

/** A path under `dir` for an S3 key; keys are CallVault's own, but a key must never climb out. */
function localPathOf(dir: string, key: string): string {
  const path = resolve(dir, ...key.split('/'));
  if (!path.startsWith(dir + sep))
    throw new CliError(`The stored key "${key}" would be written outside ${dir}; it was skipped. Report it: CallVault's keys never climb.`);
  return path;
}

/** Export a window of the archive into `dir` (see CALLS_EXPORT_USAGE). Stops with the signal; a later run resumes. */
export async function exportArchive(
  reader: ArchiveReader,
  opts: { since: string; until: string; dir: string; io?: CallsIo; onProgress?: (done: number, total: number, bytes: number) => void },
): Promise<ExportResult> {
  const { since, until, dir } = opts;
  const signal = opts.io?.signal;
  await mkdir(dir, { recursive: true });
  const state = await readState(dir, since, until);
  // Claimed at once, so another window cannot be exported into the same directory even if this one has no media.
  await writeAtomic(join(dir, EXPORT_STATE), JSON.stringify(state));
  // The records are small and may have changed since the last run: they are always written afresh.
  const calls: CallRecord[] = [];
  for await (const call of reader.callsBetween(since, until)) calls.push(call);
  await writeAtomic(join(dir, 'calls.jsonl'), calls.map((c) => JSON.stringify(c)).join('\n') + (calls.length ? '\n' : ''));
  const work = calls.flatMap((call) => storedMedia(call).map((m) => ({ call, m })));
  const files: ExportedFile[] = [];
  let downloaded = 0;
  let skipped = 0;
  let bytes = 0;
  opts.onProgress?.(0, work.length, 0);
  for (const { call, m } of work) {
    if (signal?.aborted)
      throw new CliError(`Export interrupted after ${files.length} of ${work.length} files; run the same command again to resume.`);
    const rel = m.s3Key;
    const path = localPathOf(dir, rel);
    const known = state.files[rel];
    let file: ExportedFile | undefined;
    const onDisk = await stat(path).catch(() => undefined);
    if (onDisk) {
      // Verified before and untouched since: no need to read it again. Otherwise hash what is there.
      const unchanged =
        known && known.bytes === onDisk.size && known.mtimeMs === onDisk.mtimeMs && (!m.sha256 || known.sha256 === m.sha256);
      const have = unchanged ? { sha256: known.sha256, bytes: known.bytes } : await hashFile(path);
      if (have && (m.sha256 ? have.sha256 === m.sha256 : unchanged))
        file = { callKey: call.callKey, media: m.media, path: rel, ...have, verified: Boolean(m.sha256), skipped: true };
    }
    if (file) skipped++;
    else {
      let got;
      try {
        got = await fetchVerified(reader, m, path, signal);
      } catch (err) {
        if (signal?.aborted)
          throw new CliError(`Export interrupted after ${files.length} of ${work.length} files; run the same command again to resume.`);
        throw err;
      }
      file = { callKey: call.callKey, media: m.media, path: rel, ...got };
      downloaded++;
    }
    const done = await stat(path);
    state.files[rel] = { sha256: file.sha256, bytes: file.bytes, mtimeMs: done.mtimeMs };
    await writeAtomic(join(dir, EXPORT_STATE), JSON.stringify(state));
    files.push(file);
    bytes += file.bytes;
    opts.onProgress?.(files.length, work.length, bytes);
    opts.io?.onFile?.(file);
  }
  const result: ExportResult = { since, until, dir, calls: calls.length, files, downloaded, skipped, bytes };
  await writeAtomic(join(dir, 'manifest.json'), JSON.stringify({ ...result, exportedAt: new Date().toISOString() }, null, 2));
  return result;
}

/** `[#########-----------]  9/20 files  12.3 MB` */
function bar(done: number, total: number, bytes: number): string {
  const width = 24;
  const filled = total ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} files  ${(bytes / 1_048_576).toFixed(1)} MB`;
}

async function exportCommand(argv: string[], out: Out, io: CallsIo): Promise<number> {
  const { values } = parseCommand(argv, CALLS_EXPORT_USAGE, {
    ...common,
    since: { type: 'string' },
    until: { type: 'string' },
    out: { type: 'string' },
  });
  if (values.help) return (out(CALLS_EXPORT_USAGE), 0);
  const since = dayFlag('--since', values.since);
  const until = dayFlag('--until', values.until);
  if (since > until) throw new UsageError(`--since (${since}) is after --until (${until}): swap them.`);
  if (!values.out) throw new UsageError('--out DIR is required: the directory the export is written to (created if missing).');
  const progress = io.progress ?? process.stderr;
  const tty = Boolean(progress.isTTY);
  // A bar redrawn in place on a terminal; a line per file otherwise; nothing but the result with --json.
  const onProgress = values.json
    ? undefined
    : tty
      ? (d: number, t: number, b: number) => void progress.write(`\r${bar(d, t, b)}`)
      : (d: number, t: number, b: number) => void (d > 0 && progress.write(`${bar(d, t, b)}\n`));
  const reader = await openReader(values, io);
  try {
    const result = await exportArchive(reader, { since, until, dir: resolve(values.out), io, ...(onProgress ? { onProgress } : {}) });
    if (tty && !values.json) progress.write('\n');
    if (values.json) return (out(jsonText(result)), 0);
    out(
      `Exported ${result.calls} call(s) to ${join(result.dir, 'calls.jsonl')} and ${result.files.length} media file(s) (${result.downloaded} downloaded, ${result.skipped} already there), every file checked against its sha256${result.files.some((f) => !f.verified) ? ' where one was recorded' : ''}.`,
    );
    return 0;
  } finally {
    reader.destroy();
  }
}
