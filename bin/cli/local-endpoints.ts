/**
 * The lightest part of the CLI's context, loaded by every command: its error type and the local stack's
 * endpoints.json. No AWS SDK here: `urls --local` answers without loading one.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Endpoints } from '#bin/local/stack.ts';

/** A failure the user can fix; printed without a stack trace, exit code 1 (a UsageError, exit code 2, is one too). */
export class CliError extends Error {
  override readonly name: string = 'CliError';
}

/** `{CALLVAULT_DATA_DIR}/endpoints.json`, written by the local stack (`npm start`). */
export type LocalEndpoints = Endpoints;

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.CALLVAULT_DATA_DIR || '.callvault');
}

/** The running local stack's endpoints; CliError saying how to start it when there are none. */
export async function readLocalEndpoints(env: NodeJS.ProcessEnv = process.env): Promise<LocalEndpoints> {
  const file = join(dataDir(env), 'endpoints.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError(
      `No local stack found (${file} does not exist). Start it with "npm start" in another terminal, or set CALLVAULT_DATA_DIR to its data directory.`,
    );
  }
  try {
    return JSON.parse(text) as LocalEndpoints;
  } catch {
    throw new CliError(`${file} is not valid JSON: restart the local stack ("npm start") to rewrite it.`);
  }
}
