/**
 * Runs `bin/local.ts` as a child process on free ports and a temporary data directory, the way a user
 * runs `npm start`, and stops it (and everything it started) afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '#bin/local/emulators.ts';
import type { Endpoints } from '#bin/local/stack.ts';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface LocalStackProcess {
  endpoints: Endpoints;
  dataDir: string;
  output: () => string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startLocalStackProcess(extraEnv: Record<string, string> = {}): Promise<LocalStackProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'callvault-e2e-'));
  const env: Record<string, string> = {
    PORT: String(await freePort()),
    DYNAMODB_PORT: String(await freePort()),
    S3_PORT: String(await freePort()),
    SQS_PORT: String(await freePort()),
    CALLVAULT_DATA_DIR: dataDir,
    CALLVAULT_LOCAL_TOKEN: 'e2e-token-0123456789',
    ...extraEnv,
  };
  let out = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts'], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const endpointsFile = join(dataDir, 'endpoints.json');
  const until = Date.now() + 60_000;
  while (!(existsSync(endpointsFile) && out.includes('ready'))) {
    if (child.exitCode !== null) throw new Error(`local stack exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`local stack did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as Endpoints;
  return {
    endpoints,
    dataDir,
    env,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
