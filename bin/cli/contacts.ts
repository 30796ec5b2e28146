/**
 * `callvault contacts import FILE.csv`: load a contacts CSV into the contacts table (local stack or AWS).
 * Numbers are normalised to E.164 with the default country; rows that cannot be read are reported with
 * their line and the reason, the rest are imported. Whole-item puts: importing twice changes nothing.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ContactsTable } from '#adapters/contacts-table.ts';
import { parseContactsCsv, type ContactsCsv } from '#core/contacts-csv.ts';
import { ValidationError } from '#core/errors.ts';
import { CliError, documentClient, readLocalEndpoints } from './context.ts';
import { parseCommand, UsageError } from './front.ts';
import { jsonText, print, type Out } from './output.ts';
import { readProjectConfig } from '#bin/local/project-config.ts';

export const CONTACTS_USAGE = `Usage: callvault contacts import FILE.csv [options]

Load contacts for Insight Cards. The first row names the columns:
  phone,name,company,balance,owner_user_id,link   (any order; other columns become extra card rows)

Options:
  --local            import into the local stack (npm start) instead of AWS
  --table NAME       contacts table name (default: found from the CallVault stack's tables)
  --stack NAME       stack name used to find the table (default: CallVault)
  --region REGION    AWS region (default: your AWS configuration)
  --country CC       country for numbers written without +country code (default: cdk.json defaultCountry)
  --dry-run          read and check the file, write nothing
  --strict           exit with code 2 when any row was rejected
  --json             print {file, encoding, rows, imported (or wouldImport), table, rejected: [{line, reason}]}`;

/** The text of a CSV file as spreadsheets save it: UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1252. */
export function decodeCsv(bytes: Buffer): { text: string; encoding: string } {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: new TextDecoder('utf-16le').decode(bytes.subarray(2)), encoding: 'UTF-16LE' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { text: new TextDecoder('utf-16be').decode(bytes.subarray(2)), encoding: 'UTF-16BE' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'UTF-8' };
  } catch {
    return { text: new TextDecoder('windows-1252').decode(bytes), encoding: 'Windows-1252' };
  }
}

/** The deployed contacts table: the one table of the stack whose name mentions contacts. */
async function findContactsTable(doc: DynamoDBDocumentClient, stack: string): Promise<string> {
  const names: string[] = [];
  let start: string | undefined;
  do {
    const out = await doc.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    names.push(...(out.TableNames ?? []));
    start = out.LastEvaluatedTableName;
  } while (start);
  const matches = names.filter((n) => n.startsWith(`${stack}-`) && /contacts/i.test(n));
  if (matches.length === 1) return matches[0]!;
  const hint = `Pass --table with the stack's ContactsTableName output (aws cloudformation describe-stacks --stack-name ${stack} --query "Stacks[0].Outputs[?OutputKey=='ContactsTableName'].OutputValue" --output text).`;
  if (!matches.length)
    throw new CliError(
      `No contacts table of stack "${stack}" in this account and region. Is the stack deployed here (check --region)? ${hint}`,
    );
  throw new CliError(`Several tables could be the contacts table (${matches.join(', ')}). ${hint}`);
}

/** The report printed after an import. */
export function formatReport(file: string, result: ContactsCsv, written: number | undefined, where: string): string {
  const lines = [
    `${file}: ${result.rows} row(s) read, ${written === undefined ? `${result.contacts.length} contact(s) would be imported (dry run)` : `${written} contact(s) imported into ${where}`}, ${result.rejected.length} rejected.`,
  ];
  for (const r of result.rejected) lines.push(`  line ${r.line}: ${r.reason}`);
  return lines.join('\n');
}

export async function contactsCommand(argv: string[], out: Out = print): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'help' || sub === '--help' || sub === '-h') {
    out(CONTACTS_USAGE);
    return 0;
  }
  if (sub === undefined) throw new UsageError('Give a subcommand: contacts import FILE.csv.', CONTACTS_USAGE);
  if (sub !== 'import') throw new UsageError(`Unknown command "contacts ${sub}".`, CONTACTS_USAGE);

  const { values, positionals } = parseCommand(
    rest,
    CONTACTS_USAGE,
    {
      local: { type: 'boolean', default: false },
      table: { type: 'string' },
      stack: { type: 'string', default: 'CallVault' },
      region: { type: 'string' },
      country: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
    },
    { positionals: true },
  );
  if (values.help) {
    out(CONTACTS_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('contacts import needs exactly one CSV file.');
  const file = positionals[0]!;

  const country = (values.country ?? (await readProjectConfig()).defaultCountry).toUpperCase();
  if (!/^[A-Z]{2}$/.test(country))
    throw new UsageError(`--country must be a two-letter ISO country code such as GB or US (got "${values.country}").`);

  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const { text, encoding } = decodeCsv(bytes);
  let result: ContactsCsv;
  try {
    result = parseContactsCsv(text, { defaultCountry: country });
  } catch (err) {
    if (err instanceof ValidationError) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
  if (encoding !== 'UTF-8' && !values.json) out(`(${basename(file)} read as ${encoding})`);

  let written: number | undefined;
  let where = '';
  let table: string | undefined;
  if (!values['dry-run']) {
    const local = values.local ? await readLocalEndpoints() : undefined;
    const doc = documentClient(local ? { local } : { region: values.region });
    try {
      table = values.table ?? (local ? local.tables.contacts : await findContactsTable(doc, values.stack));
      where = local ? `"${table}" (local stack)` : `"${table}"`;
      written = await new ContactsTable(doc, table).putAll(result.contacts);
    } catch (err) {
      if (err instanceof CliError) throw err;
      const e = err as Error;
      const how = local
        ? 'Is the local stack running ("npm start")?'
        : 'Check your AWS credentials and region (--region), and that the stack is deployed.';
      throw new CliError(`Import failed: ${e.name}: ${e.message}. ${how} Importing again is safe.`);
    } finally {
      doc.destroy();
    }
  }
  if (values.json)
    out(
      jsonText({
        file: basename(file),
        encoding,
        rows: result.rows,
        ...(written === undefined ? { wouldImport: result.contacts.length, dryRun: true } : { imported: written, table }),
        rejected: result.rejected,
      }),
    );
  else out(formatReport(basename(file), result, written, where));
  return values.strict && result.rejected.length ? 2 : 0;
}
