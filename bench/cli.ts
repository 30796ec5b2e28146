/**
 * How fast a CLI command answers, as a user runs it: `npx callvault urls --local` (and the same through
 * `npm run callvault` and the launcher alone), the median of 5 runs each, against an endpoints.json in a
 * temporary data dir (the command reads only that file, so no stack is needed). Goal: under 1 s.
 * Run alone: `npx tsx bench/cli.ts`, or `npm run bench -- cli`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '#test/support/local-stack-process.ts';
import { median, type BenchRow } from './stats.ts';

const RUNS = 5;

/** Milliseconds of each of `RUNS` runs of `command` (after one unmeasured run that warms the compile cache). */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): number[] {
  const once = () => {
    const start = process.hrtime.bigint();
    const r = spawnSync(command, args, { cwd: projectRoot, env, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0 || !r.stdout.includes('/webhooks/'))
      throw new Error(`${command} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
    return ms;
  };
  once();
  return Array.from({ length: RUNS }, once);
}

export function runCliBench(): BenchRow[] {
  const dataDir = mkdtempSync(join(tmpdir(), 'callvault-cli-bench-'));
  const api = 'http://127.0.0.1:3000';
  writeFileSync(
    join(dataDir, 'endpoints.json'),
    JSON.stringify({
      api,
      token: 'dev-token',
      sources: [{ id: 'hipcall', provider: 'hipcall', url: `${api}/webhooks/hipcall/dev-token` }],
    }),
  );
  const env = { ...process.env, CALLVAULT_DATA_DIR: dataDir };
  try {
    const variants: [string, string, string[]][] = [
      ['npx callvault urls --local', 'npx', ['callvault', 'urls', '--local']],
      ['npm run callvault -- urls --local', 'npm', ['run', '-s', 'callvault', '--', 'urls', '--local']],
      ['node bin/callvault.mjs urls --local', process.execPath, ['bin/callvault.mjs', 'urls', '--local']],
    ];
    return variants.map(([name, command, args]) => {
      const ms = median(timed(command, args, env));
      return { name: `${name} (median of ${RUNS})`, value: Math.round(ms), unit: 'ms', goal: '< 1000', pass: ms < 1000 };
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { printTable } = await import('./stats.ts');
  printTable(runCliBench());
}
