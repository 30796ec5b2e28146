/**
 * Lets a CLI command with `--local` run in-process against a harness's emulators: writes the
 * endpoints.json the local stack would write into a temp data dir and points CALLVAULT_DATA_DIR at it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Emulators } from '#bin/local/emulators.ts';
import type { Endpoints } from '#bin/local/stack.ts';

/** Point `--local` at `emulators`; the returned function restores CALLVAULT_DATA_DIR and removes the dir. */
export async function useLocalEndpoints(emulators: Emulators): Promise<() => Promise<void>> {
  const previous = process.env.CALLVAULT_DATA_DIR;
  const dir = await mkdtemp(join(tmpdir(), 'callvault-cli-'));
  // No HTTP API runs here: the URLs the CLI's archive commands never use point at the discard port.
  const unused = 'http://127.0.0.1:9';
  const endpoints: Endpoints = {
    api: unused,
    dynamodb: emulators.endpoints.dynamodb,
    s3: emulators.endpoints.s3,
    sqs: emulators.endpoints.sqs,
    region: emulators.region,
    tables: emulators.tables,
    bucket: emulators.bucket,
    queues: emulators.queues,
    hipcallMock: unused,
    demoMedia: unused,
    token: 'unused',
    sources: [],
  };
  await writeFile(join(dir, 'endpoints.json'), JSON.stringify(endpoints));
  process.env.CALLVAULT_DATA_DIR = dir;
  return async () => {
    if (previous === undefined) delete process.env.CALLVAULT_DATA_DIR;
    else process.env.CALLVAULT_DATA_DIR = previous;
    await rm(dir, { recursive: true, force: true });
  };
}
