/**
 * One AWS emulator (dynalite or s3rver) in a child process of its own, on a fixed port with a data
 * directory, so a test can stop it for real (SIGKILL: every connection drops, the port refuses) and
 * start it again on the same port with the same data. bin/local's emulators share the test's process
 * and can only be broken through a proxy; an outage here is the emulator being gone.
 *
 * This file is also the child's entry: `node test/support/emulator-process.ts serve '{json}'` (plain
 * Node 24 type stripping, no tsx: it imports only Node built-ins and bin/local/emulator-servers.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulatorServer } from '#bin/local/emulator-servers.ts';

export type EmulatorKind = 'dynamodb' | 's3';

export interface EmulatorProcessOptions {
  /** Keep the data here (default: a new temp dir, removed by `close`). */
  dataDir?: string;
  /** Default: a free port, kept across restarts. */
  port?: number;
  /** s3rver: buckets it creates at start (kept in its directory anyway). */
  buckets?: string[];
}

export interface EmulatorProcess {
  kind: EmulatorKind;
  port: number;
  /** `http://127.0.0.1:{port}`. */
  endpoint: string;
  dataDir: string;
  /** True while the child is up. */
  readonly running: boolean;
  /** Kill the child (SIGKILL by default: as abrupt as an outage gets) and wait until the port refuses. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port with the same data; resolves once it answers. */
  start(): Promise<void>;
  /** Stop it and remove a data dir this module made. */
  close(): Promise<void>;
}

interface ServeInput {
  kind: EmulatorKind;
  port: number;
  dataDir: string;
  buckets: string[];
}

const HOST = '127.0.0.1';
const READY = 'emulator-ready';
/** A boot takes about a second; a 2-core machine under other tests' load can take many times that. */
const BOOT_TIMEOUT_MS = 45_000;
const self = fileURLToPath(import.meta.url);

/** A port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, HOST, resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Start `kind` in a child process; see EmulatorProcess. */
export async function startEmulatorProcess(kind: EmulatorKind, options: EmulatorProcessOptions = {}): Promise<EmulatorProcess> {
  const ownDir = options.dataDir ? undefined : await mkdtemp(join(tmpdir(), `cv-${kind}-`));
  const dataDir = options.dataDir ?? ownDir!;
  await mkdir(dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const input: ServeInput = { kind, port, dataDir, buckets: options.buckets ?? [] };
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    if (child) return;
    let output = '';
    const proc = spawn(process.execPath, ['--no-warnings', self, 'serve', JSON.stringify(input)], { stdio: ['pipe', 'pipe', 'pipe'] });
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        output += d.toString();
        if (output.includes(READY)) resolve();
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.once('exit', (code, signal) =>
        reject(
          new Error(
            timedOut
              ? `the ${kind} emulator was not ready within ${BOOT_TIMEOUT_MS / 1000} s (is the machine overloaded?) and was killed. Output:\n${output}`
              : `the ${kind} emulator exited (${code ?? signal}) before it was ready; is port ${port} taken? Output:\n${output}`,
          ),
        ),
      );
    });
    let timedOut = false;
    const timer = setTimeout(() => ((timedOut = true), proc.kill('SIGKILL')), BOOT_TIMEOUT_MS);
    try {
      await ready;
    } catch (err) {
      child = undefined;
      throw err;
    } finally {
      clearTimeout(timer);
    }
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const proc = child;
    if (!proc) return;
    proc.kill(signal);
    await exited;
    child = undefined;
  };

  await start();
  return {
    kind,
    port,
    endpoint: `http://${HOST}:${port}`,
    dataDir,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    async close() {
      await stop();
      if (ownDir) await rm(ownDir, { recursive: true, force: true });
    },
  };
}

// ---- the child -------------------------------------------------------------------------------------

/** The child: the same emulator start-up (and S3 multipart shim) as `npm start`'s, on the fixed port and dir. */
async function serve(input: ServeInput): Promise<void> {
  const dir = join(input.dataDir, input.kind === 'dynamodb' ? 'dynamodb' : 's3');
  await mkdir(dir, { recursive: true });
  if (input.buckets.length > 1) throw new Error('startEmulatorProcess: one bucket per S3 emulator');
  await startEmulatorServer({
    kind: input.kind,
    port: input.port,
    host: HOST,
    dir,
    ...(input.buckets[0] ? { bucket: input.buckets[0] } : {}),
  });
  process.stdout.write(`${READY}\n`);
  // The parent going away (its end of stdin closes) must not leave an emulator behind.
  process.stdin.on('end', () => process.exit(0)).resume();
}

if (process.argv[1] === self && process.argv[2] === 'serve') {
  await serve(JSON.parse(process.argv[3] ?? '{}') as ServeInput);
}
