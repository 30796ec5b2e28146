/**
 * `callvault query "<SQL>" --local [--json]`: the same SQL as Athena's table `calls`, run with DuckDB over
 * the local stack's cdr/ objects. The objects are read through the S3 API (not s3rver's files on disk,
 * whose layout is s3rver's business) into a temporary directory laid out like the bucket, and a view
 * named `calls` gets its columns from core/cdr-schema.ts and `provider` and `day` from the object keys,
 * exactly as Athena's partition projection does.
 *
 * Without --local it does not run anything: Athena needs a results location, a workgroup and a bill, so
 * it prints the `aws athena` command (and the named queries) to run the same SQL there.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { CDR_COLUMNS, CDR_EXAMPLE_QUERIES, CDR_PARTITIONS, CDR_TABLE, DUCKDB_TYPE } from '#core/cdr-schema.ts';
import { PROVIDERS } from '#core/types.ts';
import { PREFIX } from '#contract/resources.ts';
import { LOCAL_CREDENTIALS } from '#bin/local/target.ts';
import { CliError, readLocalEndpoints } from './context.ts';
import { readProjectConfig } from '#bin/local/project-config.ts';

import { parseCommand, UsageError } from './front.ts';
import { jsonText, print, printError, Progress, type Out } from './output.ts';

export const QUERY_USAGE = `Usage: callvault query "<SQL>" --local [--json]
Runs SQL over the archive's table "${CDR_TABLE}" (one row per call; columns in docs/querying.md).
  --local   run it with DuckDB over the local stack's cdr/ objects (npm start)
  --json    print the rows as a JSON array
Without --local, prints how to run the same SQL in Athena (enable "analytics": {"glue": true} and deploy).
Example queries, also in Athena as named queries:
${CDR_EXAMPLE_QUERIES.map((q) => `  ${q.name}: ${q.description}`).join('\n')}`;

/** A key of the form S3_KEYS.cdr writes; anything else under cdr/ is not a call row (and never becomes a path). */
const CDR_KEY = new RegExp(`^${PREFIX.cdr}(${PROVIDERS.join('|')})/\\d{4}/\\d{2}/\\d{2}/[A-Za-z0-9_~-][A-Za-z0-9._~-]*\\.json$`);

export interface LocalArchive {
  s3: S3Client;
  bucket: string;
}

export interface CopiedCdr {
  /** Directory holding `cdr/...` as in the bucket. */
  dir: string;
  rows: number;
  /** cdr/ objects left out: not a call row of the current schema (written before it), or a foreign key. */
  skipped: string[];
}

/** Copy every cdr/ object that holds a row of the current schema into `dir`, keyed as in the bucket. */
export async function copyCdrObjects(archive: LocalArchive, dir: string): Promise<CopiedCdr> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await archive.s3.send(new ListObjectsV2Command({ Bucket: archive.bucket, Prefix: PREFIX.cdr, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const skipped: string[] = [];
  let rows = 0;
  const queue = [...keys];
  const worker = async () => {
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      if (!CDR_KEY.test(key)) {
        skipped.push(key);
        continue;
      }
      const res = await archive.s3.send(new GetObjectCommand({ Bucket: archive.bucket, Key: key }));
      const text = (await res.Body?.transformToString('utf8')) ?? '';
      if (!isCdrRow(text)) {
        skipped.push(key);
        continue;
      }
      const file = join(dir, key);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, text);
      rows++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { dir, rows, skipped: skipped.sort() };
}

/** One line of JSON with a `call_id`: what S3MediaStore.putCallRecord writes (older objects were pretty-printed records). */
function isCdrRow(text: string): boolean {
  if (text.trimEnd().includes('\n')) return false;
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>).call_id === 'string';
  } catch {
    return false;
  }
}

const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** DuckDB DDL of the `calls` view over `dir`'s cdr/ files (or an empty table when there are none). */
export function duckdbCallsDdl(dir: string | undefined): string {
  const all = [...CDR_COLUMNS, ...CDR_PARTITIONS];
  if (!dir) return `CREATE TABLE ${CDR_TABLE} (${all.map((c) => `${c.name} ${DUCKDB_TYPE[c.type]}`).join(', ')})`;
  const columns = `{${CDR_COLUMNS.map((c) => `${sqlText(c.name)}: ${sqlText(DUCKDB_TYPE[c.type])}`).join(', ')}}`;
  const glob = join(dir, PREFIX.cdr, '*', '*', '*', '*', '*.json');
  // provider and day come from the key, as Athena's partition projection takes them.
  return `CREATE VIEW ${CDR_TABLE} AS SELECT ${CDR_COLUMNS.map((c) => c.name).join(', ')},
  regexp_extract(filename, '/cdr/([^/]+)/', 1) AS provider,
  regexp_extract(filename, '/cdr/[^/]+/([0-9]{4}/[0-9]{2}/[0-9]{2})/', 1) AS day
FROM read_json(${sqlText(glob)}, columns = ${columns}, format = 'newline_delimited', filename = true)`;
}

export type QueryRow = Record<string, unknown>;

/** Run `sql` with DuckDB over the cdr/ files in `dir` (undefined: no calls yet). */
export async function runLocalQuery(sql: string, dir: string | undefined): Promise<{ columns: string[]; rows: QueryRow[] }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(duckdbCallsDdl(dir));
    let reader;
    try {
      reader = await connection.runAndReadAll(sql);
    } catch (err) {
      throw new CliError(
        `The query failed: ${(err as Error).message}\nThe table is "${CDR_TABLE}"; its columns are listed in docs/querying.md and by: callvault query "DESCRIBE ${CDR_TABLE}" --local`,
      );
    }
    const js = reader.getRowObjectsJS();
    const json = reader.getRowObjectsJson();
    // Counts and sums are BIGINT: a number when it fits, else its exact text.
    const rows = json.map((row, i) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => {
          const raw = js[i]![k];
          return [k, typeof raw === 'bigint' && Number.isSafeInteger(Number(raw)) ? Number(raw) : v];
        }),
      ),
    );
    return { columns: reader.columnNames(), rows };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Rows as an aligned text table. */
function printTable(columns: string[], rows: QueryRow[], out: Out): void {
  const cell = (v: unknown): string =>
    typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean'
        ? String(v)
        : v === null || v === undefined
          ? ''
          : JSON.stringify(v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  out(
    columns
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows)
    out(
      columns
        .map((c, i) => cell(r[c]).padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  out(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
}

export async function queryCommand(argv: string[], out: Out = print, err: Out = printError): Promise<number> {
  const { values, positionals } = parseCommand(argv, QUERY_USAGE, { local: { type: 'boolean', default: false } }, { positionals: true });
  if (values.help) return (out(QUERY_USAGE), 0);
  if (positionals.length !== 1 || !positionals[0]!.trim()) throw new UsageError('Give the SQL as one quoted argument.');
  const sql = positionals[0]!;
  if (!values.local) throw new CliError(await athenaHint(sql));

  const e = await readLocalEndpoints();
  const s3 = new S3Client({ endpoint: e.s3, region: e.region, credentials: LOCAL_CREDENTIALS, forcePathStyle: true, maxAttempts: 3 });
  const dir = await mkdtemp(join(tmpdir(), 'callvault-query-'));
  const progress = new Progress();
  try {
    let copied: CopiedCdr;
    try {
      progress.update("Reading the archive's cdr/ objects ...");
      copied = await copyCdrObjects({ s3, bucket: e.bucket }, dir);
    } catch (cause) {
      throw new CliError(
        `Could not read the local archive at ${e.s3} (${(cause as Error).name}: ${(cause as Error).message}). Is the local stack running? Start it with "npm start".`,
      );
    }
    // Said on stderr, so --json output stays one JSON document.
    progress.done();
    if (copied.skipped.length)
      err(
        `${copied.skipped.length} cdr/ object(s) left out: not a row of the current schema (written before it; the next media update of the call rewrites it).`,
      );
    progress.update(`Running the query over ${copied.rows} call(s) ...`);
    const result = await runLocalQuery(sql, copied.rows ? dir : undefined);
    progress.done();
    if (values.json) out(jsonText(result.rows));
    else printTable(result.columns, result.rows, out);
    return 0;
  } finally {
    progress.done();
    s3.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/** How to run `sql` in Athena, from the project's config (cdk.json). */
async function athenaHint(sql: string): Promise<string> {
  const { analytics } = await readProjectConfig();
  const enable = analytics.glue
    ? ''
    : 'First set "analytics": {"glue": true} in the callvault block of cdk.json and run "npx cdk deploy".\n';
  const shellSql = `'${sql.replace(/'/g, `'\\''`)}'`;
  return `callvault query runs SQL locally only (--local, over the local stack). To run it in Athena:
${enable}  aws athena start-query-execution --work-group ${analytics.workGroup} --query-execution-context Database=${analytics.database} --query-string ${shellSql}
then read the rows with: aws athena get-query-results --query-execution-id <QueryExecutionId>
The Athena console (workgroup "${analytics.workGroup}") also lists the example queries as saved queries: ${CDR_EXAMPLE_QUERIES.map((q) => `callvault-${q.name}`).join(', ')}.`;
}
