import { spawnSync } from 'node:child_process';
import { delimiter } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '#test/support/local-stack-process.ts';

describe('npx callvault, as a new user runs it', () => {
  it('prints only the CLI’s own output: no npm engine warnings, whatever Node the machine has', () => {
    // As from a user's shell: the machine's npx first on the PATH, not the project's pinned Node that npm scripts add.
    // and none of the npm_* variables an npm script passes down.
    const PATH = (process.env.PATH ?? '')
      .split(delimiter)
      .filter((p) => !p.includes('node_modules'))
      .join(delimiter);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const run = spawnSync('npx', ['callvault', '--help'], { cwd: projectRoot, env: { ...env, PATH }, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: callvault');
    expect(run.stderr).toBe('');
  });
});
