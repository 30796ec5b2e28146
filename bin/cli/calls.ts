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
import { parseArgs } from 'node:util';
import { CALL_INDEX_TIME } from '#contract/resources.ts';
import type { CallRecord } from '#core/types.ts';
import { ArchiveReader, isProvider, sha256Hasher, storedMedia, type ReaderClient, type StoredMedia } from './archive-reader.ts';
import { CliError, readLocalEndpoints, stackOutputs } from './context.ts';
import { readProjectConfig } from '#bin/local/project-config.ts';

type Out = (line: string) => void;

/** What a test (or a caller embedding the CLI) may pass in besides the arguments. */
export interface CallsIo {
  /** Ends an export early, as Ctrl-C would; what is done stays done. */
  signal?: AbortSignal;
  /** Called after each exported file is written and verified. */
  onFile?: (file: ExportedFile) => void;
  /** Gets every SDK client the command builds (tests count requests). */
  instrument?: (client: ReaderClient) => void;
  /** Where progress goes (default stderr); never used with --json. */
  progress?: { write(text: string): unknown; isTTY?: boolean };
}

const common = {
  local: { type: 'boolean', default: false },
  stack: { type: 'string', default: 'CallVault' },
  region: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const TARGET = '[--json] [--local] [--stack CallVault] [--region R]';

export const CALLS_LIST_USAGE = `Usage: callvault calls list (--day YYYY-MM-DD | --customer NUMBER) [--from TIME] [--to TIME] [--newest] [--limit 50] ${TARGET}
Lists calls of one day (byDay index) or of one customer (byCustomerNumber index), oldest first, by callAt:
the call's start time, or when it has none (post-call deliveries, status-only calls) its first delivery's time.
Reads only the index: one query per page, whatever the size of the archive.
  --from, --to   only calls with callAt in [from, to] (ISO-8601 UTC, e.g. 2026-04-02T09:00:00Z, or a day)
  --newest       newest first
("callvault calls --day ..." without "list" works too.)`;

export const CALLS_GET_USAGE = `Usage: callvault calls get PROVIDER CALL_ID [--expires 3600] ${TARGET}
Prints the call's record and a pre-signed link to each stored media file (valid --expires seconds).
PROVIDER is hipcall, callhippo or postcall.`;

export const CALLS_DOWNLOAD_USAGE = `Usage: callvault calls download PROVIDER CALL_ID [--out DIR] ${TARGET}
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

export async function callsCommand(argv: string[], out: Out = console.log, io: CallsIo = {}): Promise<number> {
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
    case '--help':
    case '-h':
      out(CALLS_USAGE);
      return sub === undefined ? 1 : 0;
    default:
      // `calls --day D` predates the subcommands: still a list.
      if (sub.startsWith('-')) return listCommand(argv, out, io);
      throw new CliError(`Unknown subcommand "calls ${sub}".\n\n${CALLS_USAGE}`);
  }
}

/** An ISO-8601 UTC time as the items store it (`2026-04-02T09:00:00.000Z`), for comparing with callAt as text. */
function isoBound(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const t = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)
    ? Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value)
    : NaN;
  if (Number.isNaN(t))
    throw new CliError(`${flag} must be an ISO-8601 time such as 2026-04-02T09:00:00Z or a day such as 2026-04-02, not "${value}".`);
  return new Date(t).toISOString();
}

/** A `YYYY-MM-DD` flag, checked to be a real day. */
export function dayFlag(flag: string, value: string | undefined): string {
  if (value === undefined) throw new CliError(`${flag} is required (a day such as 2026-04-02).`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value)
    throw new CliError(`${flag} must be a day such as 2026-04-02, not "${value}".`);
  return value;
}

async function listCommand(argv: string[], out: Out, io: CallsIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...common,
      day: { type: 'string' },
      customer: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      newest: { type: 'boolean', default: false },
      limit: { type: 'string', default: '50' },
    },
    strict: true,
  });
  if (values.help) return (out(CALLS_LIST_USAGE), 0);
  if (!values.day === !values.customer) throw new CliError(`Give exactly one of --day or --customer.\n\n${CALLS_LIST_USAGE}`);
  if (values.day) dayFlag('--day', values.day);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new CliError('--limit must be a whole number of at least 1.');
  const from = isoBound('--from', values.from);
  // A bare day as --to means up to the end of that day.
  const to = values.to !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(values.to) ? `${values.to}T23:59:59.999Z` : isoBound('--to', values.to);
  if (from && to && from > to) throw new CliError(`--from (${from}) is after --to (${to}): swap them.`);
  let customer = values.customer;
  if (customer) {
    const { toE164 } = await import('#core/phone.ts');
    customer = toE164(customer, (await readProjectConfig()).defaultCountry) ?? customer;
  }
  const reader = await openReader(values, io);
  try {
    const items = await reader.listCalls(
      {
        ...(values.day ? { day: values.day } : { customer: customer! }),
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        newestFirst: values.newest,
      },
      limit,
    );
    if (values.json) return (out(JSON.stringify(items, null, 2)), 0);
    if (!items.length) return (out('No calls found.'), 0);
    out(
      [
        CALL_INDEX_TIME.padEnd(24),
        'call'.padEnd(44),
        'dir'.padEnd(9),
        'status'.padEnd(10),
        'secs'.padStart(5),
        ' customer'.padEnd(17),
        ' recording',
      ].join(' '),
    );
    for (const i of items) {
      out(
        [
          String(i.callAt ?? i.startedAt ?? '').padEnd(24),
          String(i.callKey).slice(0, 44).padEnd(44),
          String(i.direction).padEnd(9),
          String(i.status).padEnd(10),
          String(i.durationSec ?? '').padStart(5),
          ` ${String(i.customerNumber ?? '').padEnd(16)}`,
          ` ${i.recording?.state ?? '-'}`,
        ].join(' '),
      );
    }
    return 0;
  } finally {
    reader.destroy();
  }
}

/** PROVIDER CALL_ID from the positionals, checked. */
function callRef(positionals: string[], usage: string): { provider: Parameters<ArchiveReader['getCall']>[0]; callId: string } {
  const [provider, callId, ...extra] = positionals;
  if (!provider || !callId || extra.length) throw new CliError(`Give a provider and a call id.\n\n${usage}`);
  if (!isProvider(provider)) throw new CliError(`"${provider}" is not a provider: use hipcall, callhippo or postcall.`);
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

async function getCommand(argv: string[], out: Out, io: CallsIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...common, expires: { type: 'string', default: '3600' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return (out(CALLS_GET_USAGE), 0);
  const { provider, callId } = callRef(positionals, CALLS_GET_USAGE);
  const expires = Number(values.expires);
  // S3 refuses a SigV4 link valid for more than 7 days.
  if (!Number.isInteger(expires) || expires < 1 || expires > 604_800)
    throw new CliError('--expires must be a whole number of seconds from 1 to 604800 (7 days, the most S3 allows).');
  const reader = await openReader(values, io);
  try {
    const call = await foundCall(reader, provider, callId);
    const media = await reader.mediaLinks(call, expires);
    if (values.json) return (out(JSON.stringify({ call, media }, null, 2)), 0);
    out(JSON.stringify(call, null, 2));
    if (!media.length)
      out(
        `\nNo stored media (${['recording', 'voicemail', 'transcript'].map((m) => `${m}: ${call[m as 'recording']?.state ?? 'none'}`).join(', ')}).`,
      );
    for (const m of media)
      out(`\n${m.media} (${m.contentType ?? 'unknown type'}, ${m.bytes ?? '?'} bytes, link valid until ${m.expiresAt}):\n${m.url}`);
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
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...common, out: { type: 'string', default: '.' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return (out(CALLS_DOWNLOAD_USAGE), 0);
  const { provider, callId } = callRef(positionals, CALLS_DOWNLOAD_USAGE);
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
    if (values.json) return (out(JSON.stringify({ callKey: call.callKey, dir, files }, null, 2)), 0);
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
  const { values } = parseArgs({
    args: argv,
    options: { ...common, since: { type: 'string' }, until: { type: 'string' }, out: { type: 'string' } },
    strict: true,
  });
  if (values.help) return (out(CALLS_EXPORT_USAGE), 0);
  const since = dayFlag('--since', values.since);
  const until = dayFlag('--until', values.until);
  if (since > until) throw new CliError(`--since (${since}) is after --until (${until}): swap them.`);
  if (!values.out)
    throw new CliError(`--out DIR is required: the directory the export is written to (created if missing).\n\n${CALLS_EXPORT_USAGE}`);
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
    if (values.json) return (out(JSON.stringify(result, null, 2)), 0);
    out(
      `Exported ${result.calls} call(s) to ${join(result.dir, 'calls.jsonl')} and ${result.files.length} media file(s) (${result.downloaded} downloaded, ${result.skipped} already there), every file checked against its sha256${result.files.some((f) => !f.verified) ? ' where one was recorded' : ''}.`,
    );
    return 0;
  } finally {
    reader.destroy();
  }
}
