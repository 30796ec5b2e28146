/**
 * `callvault contacts import FILE.csv --local` as a user runs it: a child process reading the local
 * stack's endpoints.json, writing into the emulated contacts table.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { localClientConfig, startEmulators, type Emulators } from '#bin/local/emulators.ts';
import { ContactsTable } from '#adapters/contacts-table.ts';
import { match } from '#test/support/match.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const fixture = (name: string) => join(root, 'test/fixtures/contacts', name);

let emulators: Emulators;
let dataDir: string;
let doc: DynamoDBDocumentClient;
let contacts: ContactsTable;

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(root, 'bin/callvault.ts'), ...args], {
      cwd: root,
      env: { ...process.env, CALLVAULT_DATA_DIR: dataDir, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const tableItems = async () =>
  (await doc.send(new ScanCommand({ TableName: emulators.tables.contacts, ConsistentRead: true }))).Items ?? [];

beforeAll(async () => {
  emulators = await startEmulators();
  dataDir = await mkdtemp(join(tmpdir(), 'cv-cli-'));
  await writeFile(
    join(dataDir, 'endpoints.json'),
    JSON.stringify({
      api: 'http://127.0.0.1:1',
      ...emulators.endpoints,
      region: emulators.region,
      tables: emulators.tables,
      bucket: emulators.bucket,
      queues: emulators.queues,
      hipcallMock: '',
      token: 'dev-token',
      sources: [],
    }),
  );
  doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(emulators.endpoints.dynamodb)));
  contacts = new ContactsTable(doc, emulators.tables.contacts);
});

afterAll(async () => {
  doc?.destroy();
  await emulators?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('callvault contacts import --local', () => {
  it('checks a file without writing on --dry-run', async () => {
    const { code, stdout } = await cli(['contacts', 'import', fixture('contacts.csv'), '--local', '--dry-run', '--country', 'GB']);
    expect(code).toBe(0);
    expect(stdout).toContain('contacts.csv: 9 row(s) read, 3 contact(s) would be imported (dry run), 6 rejected.');
    expect(await tableItems()).toEqual([]);
  });

  it('imports the readable rows, normalised, and reports the rest by line', async () => {
    const { code, stdout } = await cli(['contacts', 'import', fixture('contacts.csv'), '--local', '--country', 'GB']);
    expect(code).toBe(0);
    expect(stdout).toContain(
      `contacts.csv: 9 row(s) read, 3 contact(s) imported into "${emulators.tables.contacts}" (local stack), 6 rejected.`,
    );
    expect(stdout).toContain('  line 2: same number as line 14, which replaces it');
    expect(stdout).toMatch(/ {2}line 9: phone "not-a-number" is not a phone number/);
    expect(await contacts.find('+442045205757')).toEqual({
      phone: '+442045205757',
      name: 'Jane Smith (updated)',
      company: 'Acme Corp',
      balance: 4300,
      ownerUserId: 1121,
    });
    expect(await contacts.find('+442079460123')).toMatchObject({ name: 'Smith, John', extras: { Notes: 'Prefers email,\r\nnot calls' } });
  });

  it('is idempotent: a second import leaves the table exactly as it was', async () => {
    const before = await tableItems();
    const { code } = await cli(['contacts', 'import', fixture('contacts.csv'), '--local', '--country', 'GB']);
    expect(code).toBe(0);
    const sort = (items: Record<string, unknown>[]) => [...items].sort((a, b) => String(a.phone).localeCompare(String(b.phone)));
    expect(sort(await tableItems())).toEqual(sort(before));
    expect(before).toHaveLength(3);
  });

  it('exits 2 with --strict when rows were rejected', async () => {
    expect((await cli(['contacts', 'import', fixture('contacts.csv'), '--local', '--strict', '--dry-run', '--country', 'GB'])).code).toBe(
      2,
    );
    expect((await cli(['contacts', 'import', fixture('simple.csv'), '--local', '--strict', '--country', 'GB'])).code).toBe(0);
  });

  it('reads a UTF-16 file with BOM as spreadsheets save it', async () => {
    const file = join(dataDir, 'utf16.csv');
    await writeFile(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('phone,name\r\n+442079460777,Zoë Ünal\r\n', 'utf16le')]));
    const { code, stdout } = await cli(['contacts', 'import', file, '--local', '--country', 'GB']);
    expect(code).toBe(0);
    expect(stdout).toContain('read as UTF-16LE');
    expect((await contacts.find('+442079460777'))?.name).toBe('Zoë Ünal');
  });

  it('says what to do when the file or the local stack is missing, or the file has no phone column', async () => {
    const missingStack = await cli(['contacts', 'import', fixture('simple.csv'), '--local'], {
      CALLVAULT_DATA_DIR: join(dataDir, 'nowhere'),
    });
    expect(missingStack.code).toBe(1);
    expect(missingStack.stderr).toMatch(/No local stack found .* Start it with "npm start"/);
    const missingFile = await cli(['contacts', 'import', join(dataDir, 'nope.csv'), '--local']);
    expect(missingFile).toMatchObject({ code: 1, stderr: match.stringContaining('Cannot read') });
    const noPhone = await cli(['contacts', 'import', fixture('no-phone.csv'), '--local']);
    expect(noPhone).toMatchObject({ code: 1, stderr: match.stringContaining('no "phone" column') });
    const usage = await cli(['contacts', 'export']);
    expect(usage).toMatchObject({ code: 2, stderr: match.stringContaining('Usage: callvault contacts import') });
  });

  describe('without --local (the default AWS credential chain)', () => {
    const aws = () => ({
      AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
      AWS_REGION: emulators.region,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    });
    const createTable = (name: string) =>
      doc.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'phone', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'phone', KeyType: 'HASH' }],
        }),
      );

    it("finds the stack's contacts table by name, or takes --table", async () => {
      await createTable('CallVault-StorageContactsTableA1B2-XYZ');
      const found = await cli(['contacts', 'import', fixture('simple.csv'), '--country', 'GB'], aws());
      expect(found.code).toBe(0);
      expect(found.stdout).toContain('2 contact(s) imported into "CallVault-StorageContactsTableA1B2-XYZ"');
      const { Item } = await doc.send(
        new GetCommand({ TableName: 'CallVault-StorageContactsTableA1B2-XYZ', Key: { phone: '+15551234567' } }),
      );
      expect(Item).toMatchObject({ name: 'Bob Jones', balance: 99.5 });

      await createTable('CallVault-OtherContactsCopy-QRS');
      const ambiguous = await cli(['contacts', 'import', fixture('simple.csv')], aws());
      expect(ambiguous).toMatchObject({ code: 1, stderr: match.stringContaining('Several tables could be the contacts table') });
      const named = await cli(['contacts', 'import', fixture('simple.csv'), '--table', 'CallVault-OtherContactsCopy-QRS'], aws());
      expect(named.code).toBe(0);
      const none = await cli(['contacts', 'import', fixture('simple.csv'), '--stack', 'Elsewhere'], aws());
      expect(none).toMatchObject({ code: 1, stderr: match.stringContaining('No contacts table of stack "Elsewhere"') });
    });
  });
});
