/**
 * `npm start` as a user runs it, with every port and the data directory moved off their defaults: the
 * banner's commands and the README's quick-start commands work as printed (read from the banner and from
 * README.md's "Run it locally" section, whatever they say), `kill` on `npx callvault console` stops the
 * console, and SIGTERM to the npm process frees every port the stack opened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '#bin/local/emulators.ts';
import type { Endpoints } from '#bin/local/stack.ts';
import { projectRoot } from '#test/support/local-stack-process.ts';

/** True when nothing listens on `port` any more (binding it works). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** Wait until every port is free, at most `ms`; resolves with the ones still taken. */
async function portsFreed(ports: number[], ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  for (;;) {
    const taken: number[] = [];
    for (const p of ports) if (!(await portFree(p))) taken.push(p);
    if (!taken.length || Date.now() > until) return taken;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Run a shell snippet as a user types it; resolves with its exit code and output. */
function shell(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** The ```sh blocks of README.md's "Run it locally" section. */
function quickStartBlocks(): string[] {
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
  const section = /^## Run it locally\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  return [...section.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

describe('npm start on non-default ports and data dir', () => {
  let npm: ChildProcess;
  let output = '';
  let endpoints: Endpoints;
  const dataDir = mkdtempSync(join(tmpdir(), 'callvault ports-'));
  /** A user's terminal: the machine's environment, none of the stack's variables. */
  const plain: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(PORT|DYNAMODB_PORT|S3_PORT|SQS_PORT|CALLVAULT_\w+)$/.test(k)),
  );
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    env = {
      ...plain,
      PORT: String(await freePort()),
      DYNAMODB_PORT: String(await freePort()),
      S3_PORT: String(await freePort()),
      SQS_PORT: String(await freePort()),
      CALLVAULT_DATA_DIR: dataDir,
      CALLVAULT_LOCAL_TOKEN: 'ports-token-0123456789',
      CALLVAULT_MEDIA_DELAY_SECONDS: '0',
    };
    // The README's start block, less the install (done): the test keeps the process to stop it later.
    const start = quickStartBlocks().find((b) => /\bnpm start\b/.test(b));
    expect(start, 'README.md\'s "Run it locally" starts the stack with npm start').toBeDefined();
    npm = spawn('npm', ['start'], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    npm.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const until = Date.now() + 90_000;
    while (!/^Stop:/m.test(output)) {
      if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}:\n${output}`);
      if (Date.now() > until) throw new Error(`npm start did not become ready:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as Endpoints;
  }, 120_000);
  afterAll(() => {
    if (npm && npm.exitCode === null) npm.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("prints the demo media server, the stand-in's token and commands with the data dir they need", () => {
    expect(endpoints.api).toBe(`http://127.0.0.1:${env.PORT}`);
    expect(output).toContain(`Demo media server:    ${endpoints.demoMedia}`);
    expect(output).toContain('API token: local-hipcall-api-token');
    expect(output).toContain(`CALLVAULT_DATA_DIR='${dataDir}' npm run demo -- --once`);
  });

  it("runs the banner's commands as printed, from a terminal without the stack's variables", async () => {
    const banner = output.slice(output.indexOf('CallVault local stack is ready.'));
    const curls = [...banner.matchAll(/(curl -s .*)$/gm)].map((m) => m[1]!);
    const tryIt =
      /^Try it.*\n((?: {2}.*\n)+)/m
        .exec(banner)?.[1]
        ?.split('\n')
        .map((l) => l.trim())
        .filter(Boolean) ?? [];
    expect(curls).toHaveLength(2);
    expect(tryIt).toHaveLength(3);
    for (const command of curls) {
      const r = await shell(command, plain);
      expect(r.code, `${command}\n${r.out}`).toBe(0);
      expect(r.out, command).not.toContain('Unauthenticated');
      expect(JSON.parse(r.out), command).toBeDefined();
    }
    for (const command of tryIt.filter((c) => !c.includes(' console '))) {
      const r = await shell(command, plain);
      expect(r.code, `${command}\n${r.out}`).toBe(0);
    }
    // The console runs until it is stopped: kill on the npx process stops it and frees its port.
    const consoleCommand = tryIt.find((c) => c.includes(' console '))!;
    const child = spawn('bash', ['-c', `exec env ${consoleCommand}`], { cwd: projectRoot, env: plain, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const until = Date.now() + 30_000;
    while (!/Console: http:\/\/127\.0\.0\.1:(\d+)\//.test(out)) {
      if (child.exitCode !== null || Date.now() > until) throw new Error(`the console did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const port = Number(/Console: http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)![1]);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    // `exec env` leaves npx itself as the child: the process a user's `kill` names.
    child.kill('SIGTERM');
    expect(await portsFreed([port], 15_000)).toEqual([]);
  });

  it("runs the README's quick-start commands as printed, with the same variables set", async () => {
    const blocks = quickStartBlocks().filter((b) => !/\bnpm start\b/.test(b));
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const r = await shell(block, env);
      expect(r.code, `${block}\n${r.out}`).toBe(0);
      // An answer with a "message" is a refusal: every sample delivery must be taken.
      expect(r.out, block).not.toContain('"message"');
    }
    // The stack logged each sample delivery as one readable line, without the token or a phone number.
    const lines = output.split('\n').filter((l) => l.startsWith('delivery '));
    for (const [source, event] of [
      ['postcall', 'post_call'],
      ['hipcall', 'call_hangup'],
      ['callhippo', 'call_activity'],
    ])
      expect(
        lines.some((l) => new RegExp(`^delivery ${source} +200 stored ${event} \\d+ ms$`).test(l)),
        `${source}:\n${lines.join('\n')}`,
      ).toBe(true);
    expect(lines.filter((l) => l.includes(env.CALLVAULT_LOCAL_TOKEN!) || /\+44|2045205757/.test(l))).toEqual([]);
  });

  it('frees every port it opened within 15 s of a SIGTERM to the npm process', async () => {
    const ports = [endpoints.api, endpoints.dynamodb, endpoints.s3, endpoints.sqs, endpoints.demoMedia].map((u) => Number(new URL(u).port));
    expect(ports.map(String).slice(0, 4)).toEqual([env.PORT, env.DYNAMODB_PORT, env.S3_PORT, env.SQS_PORT]);
    for (const p of ports) expect(await portFree(p), `port ${p} is in use while the stack runs`).toBe(false);
    npm.kill('SIGTERM');
    expect(await portsFreed(ports, 15_000)).toEqual([]);
  });
});
