/**
 * Cold start of each function, as Lambda starts it: its bundle built as CDK builds it (lib/constructs/
 * callvault-function.ts), started in a fresh `node` process and invoked once, against a "bare" bundle
 * built the same way that only imports and constructs the SDK clients the function uses. The ratio
 * (function / bare, medians of interleaved runs) is the cost of everything the function adds at init.
 *
 * Both invocations do no network I/O (an unknown webhook source answers 404 before any AWS call; an
 * empty SQS batch), so the time is loading and building, not the emulators' latency, and the same for both.
 * Run alone: `npx tsx bench/coldstart.ts` or `npm run bench -- coldstart`; COLDSTART_RUNS sets N (default 31: on a busy 2-core machine an 11-run median of the same code can move by ±0.25×).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { ENV } from '#contract/resources.ts';
import { BUNDLING, entryOf, type FunctionName } from '#lib/constructs/callvault-function.ts';
import { median, type BenchRow } from './stats.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const KB = 1000;
/** Init (process start to first response) of a function over its bare-clients bundle. */
const GOAL_RATIO = 1.25;
/** Bundle size over the function's own bare-clients bundle (the team's reading of "ingest < 500 KB, workers < 800 KB"). */
const GOAL_SIZE_RATIO = 1.3;

type Measured = Extract<FunctionName, 'ingest' | 'media' | 'insight'>;

/** The SDK clients each function builds at cold start, built the same way (its composition root's budgets). */
const BARE: Record<Measured, string> = {
  ingest: `import { FAST, dynamoDocument, s3Client, secretsClient, sqsClient } from '#adapters/aws.ts';
const clients = [dynamoDocument(FAST), s3Client(FAST), sqsClient(FAST), secretsClient(FAST)];
export const handler = async () => ({ statusCode: 404, body: String(clients.length) });`,
  media: `import { PATIENT, FAST, dynamoDocument, s3Client, secretsClient, sqsClient } from '#adapters/aws.ts';
import { Upload } from '@aws-sdk/lib-storage';
const clients = [dynamoDocument(PATIENT), s3Client(PATIENT), sqsClient(PATIENT), () => secretsClient(FAST), Upload];
export const handler = async () => ({ batchItemFailures: [], n: clients.length });`,
  insight: `import { FAST, dynamoDocument, secretsClient } from '#adapters/aws.ts';
const clients = [dynamoDocument(FAST), dynamoDocument(FAST), () => secretsClient(FAST)];
export const handler = async () => ({ batchItemFailures: [], n: clients.length });`,
};

/** The first event of each function: answered without any network I/O. */
const EVENTS: Record<Measured, unknown> = {
  ingest: {
    version: '2.0',
    routeKey: 'POST /webhooks/{source}/{token}',
    rawPath: '/webhooks/bench-unknown/x',
    headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST', path: '/webhooks/bench-unknown/x', sourceIp: '192.0.2.1' }, requestId: 'bench' },
    pathParameters: { source: 'bench-unknown', token: 'x' },
    body: '{}',
    isBase64Encoded: false,
  },
  media: { Records: [] },
  insight: { Records: [] },
};

const CONFIG = {
  defaultCountry: 'GB',
  sources: [
    { id: 'hipcall', provider: 'hipcall', hipcallApiBaseUrl: 'https://use.hipcall.com/api/v3' },
    { id: 'callhippo', provider: 'callhippo' },
    { id: 'postcall', provider: 'postcall' },
  ],
};

/** What the stack sets, with made-up values: nothing here is ever called. */
const ENVIRONMENT: Record<string, string> = {
  AWS_REGION: 'eu-central-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
  // As deployed (CallVaultFunction's environment): the source map is read at load, so it is part of the cost.
  NODE_OPTIONS: '--enable-source-maps',
  [ENV.config]: JSON.stringify(CONFIG),
  [ENV.callsTable]: 'calls',
  [ENV.contactsTable]: 'contacts',
  [ENV.bucket]: 'archive',
  [ENV.mediaQueueUrl]: 'https://sqs.eu-central-1.amazonaws.com/123456789012/media',
  [ENV.insightQueueUrl]: 'https://sqs.eu-central-1.amazonaws.com/123456789012/insight',
  [ENV.replayQueueUrl]: 'https://sqs.eu-central-1.amazonaws.com/123456789012/replay',
  [ENV.webhookSecrets]: JSON.stringify({ hipcall: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:hipcall' }),
  [ENV.hipcallApiSecrets]: JSON.stringify({ hipcall: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:api' }),
};

/** Imports the bundle, invokes its handler once, and prints both moments (ms since the process started). */
const RUNNER = `import { pathToFileURL } from 'node:url';
const mod = await import(pathToFileURL(process.argv[2]).href);
const init = performance.now();
const context = { functionName: 'bench', functionVersion: '$LATEST', memoryLimitInMB: '1024', awsRequestId: 'bench', invokedFunctionArn: 'arn:aws:lambda:eu-central-1:123456789012:function:bench', getRemainingTimeInMillis: () => 60000 };
const result = await mod.handler(JSON.parse(process.argv[3]), context);
const first = performance.now();
const cpu = process.cpuUsage();
process.stdout.write('\\n@@coldstart ' + JSON.stringify({ init, first, cpu: (cpu.user + cpu.system) / 1000, ok: result !== undefined }) + '\\n');
process.exit(0);
`;

interface Bundle {
  file: string;
  bytes: number;
  /** Minified bytes per package (or `functions/...` for our own code), largest first. */
  top: { input: string; bytes: number }[];
}

/** The share of the output each package takes, from esbuild's metafile. */
function contributions(meta: Metafile): { input: string; bytes: number }[] {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const key = m ? m[1]! : input.split('/').slice(0, 2).join('/');
      byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage.entries()].map(([input, bytes]) => ({ input, bytes })).sort((a, b) => b.bytes - a.bytes);
}

async function bundle(dir: string, name: string, entry: { file: string } | { contents: string }): Promise<Bundle> {
  const outfile = join(dir, name, 'index.mjs');
  const result = await build({
    ...('file' in entry
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.contents, resolveDir: root, loader: 'ts', sourcefile: `${name}.ts` } }),
    outfile,
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLING.target,
    minify: BUNDLING.minify,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    sourcemap: BUNDLING.sourceMap,
    sourcesContent: BUNDLING.sourcesContent,
    metafile: true,
    logLevel: 'error',
  });
  return { file: outfile, bytes: (await stat(outfile)).size, top: contributions(result.metafile).slice(0, 12) };
}

type Sample = { init: number; first: number; cpu: number };

function startOnce(runner: string, file: string, event: unknown): Promise<Sample> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [runner, file, JSON.stringify(event)], {
      env: { PATH: process.env.PATH ?? '', ...ENVIRONMENT },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('@@coldstart '));
      if (code !== 0 || !line)
        return fail(new Error(`the ${file} bundle did not answer its first event (exit ${code}): ${err.slice(-2000) || out.slice(-2000)}`));
      ok(JSON.parse(line.slice('@@coldstart '.length)) as Sample);
    });
  });
}

export interface ColdStartResult {
  fn: Measured;
  bytes: number;
  bareBytes: number;
  /** Medians (ms since process start): module loaded, and first invocation answered. */
  initMs: number;
  /** Median CPU time (user + system) to the first response: what a busy machine's scheduling does not blur. */
  cpuMs: number;
  bareCpuMs: number;
  cpuRatio: number;
  firstMs: number;
  bareInitMs: number;
  bareFirstMs: number;
  ratio: number;
  sizeRatio: number;
  top: Bundle['top'];
}

export async function runColdStartBench(options: { runs?: number; functions?: Measured[] } = {}): Promise<BenchRow[]> {
  const runs = options.runs ?? (Number(process.env.COLDSTART_RUNS) || 31);
  const functions = options.functions ?? (['ingest', 'media', 'insight'] as const);
  const dir = await mkdtemp(join(tmpdir(), 'callvault-coldstart-'));
  try {
    const runner = join(dir, 'runner.mjs');
    await writeFile(runner, RUNNER);
    const bundles = new Map<Measured, { fn: Bundle; bare: Bundle }>();
    for (const fn of functions) {
      bundles.set(fn, { fn: await bundle(dir, fn, { file: entryOf(fn) }), bare: await bundle(dir, `bare-${fn}`, { contents: BARE[fn] }) });
    }
    // How busy the machine was: wall-clock ratios stretch with the load, the CPU ratio much less.
    const loadBefore = loadavg()[0]!;
    const times = new Map<string, { init: number[]; first: number[]; cpu: number[] }>();
    const record = (key: string, t: Sample) => {
      const slot = times.get(key) ?? { init: [], first: [], cpu: [] };
      slot.init.push(t.init);
      slot.first.push(t.first);
      slot.cpu.push(t.cpu);
      times.set(key, slot);
    };
    // One warm-up each (file cache), then interleaved: a drift of the machine's load hits both alike.
    for (const fn of functions) {
      const b = bundles.get(fn)!;
      await startOnce(runner, b.fn.file, EVENTS[fn]);
      await startOnce(runner, b.bare.file, EVENTS[fn]);
    }
    for (let i = 0; i < runs; i++) {
      for (const fn of functions) {
        const b = bundles.get(fn)!;
        const order = i % 2 ? [b.fn, b.bare] : [b.bare, b.fn];
        for (const x of order) record(x === b.fn ? fn : `bare-${fn}`, await startOnce(runner, x.file, EVENTS[fn]));
      }
    }
    const results: ColdStartResult[] = functions.map((fn) => {
      const b = bundles.get(fn)!;
      const t = times.get(fn)!;
      const bare = times.get(`bare-${fn}`)!;
      const firstMs = median(t.first);
      const bareFirstMs = median(bare.first);
      return {
        fn,
        bytes: b.fn.bytes,
        bareBytes: b.bare.bytes,
        initMs: median(t.init),
        cpuMs: median(t.cpu),
        bareCpuMs: median(bare.cpu),
        cpuRatio: median(t.cpu) / median(bare.cpu),
        firstMs,
        bareInitMs: median(bare.init),
        bareFirstMs,
        ratio: firstMs / bareFirstMs,
        sizeRatio: b.fn.bytes / b.bare.bytes,
        top: b.fn.top,
      };
    });
    const load = { cores: cpus().length, loadavg1mBefore: loadBefore, loadavg1mAfter: loadavg()[0]! };
    const outDir = join(root, '.callvault', 'bench');
    await mkdir(outDir, { recursive: true });
    await writeFile(
      join(outDir, 'coldstart.json'),
      JSON.stringify(
        { at: new Date().toISOString(), node: process.version, runs, load, goalRatio: GOAL_RATIO, goalSizeRatio: GOAL_SIZE_RATIO, results },
        null,
        2,
      ) + '\n',
    );
    printDetail(results, runs, load);
    return results.flatMap((r) => [
      {
        name: `coldstart ${r.fn}: first response / bare clients`,
        value: r.ratio,
        unit: 'x',
        goal: `<= ${GOAL_RATIO}`,
        pass: r.ratio <= GOAL_RATIO,
      },
      { name: `coldstart ${r.fn}: CPU to first response / bare`, value: r.cpuRatio, unit: 'x', goal: '', pass: true },
      { name: `coldstart ${r.fn}: bundle size`, value: r.bytes / KB, unit: 'KB', goal: '', pass: true },
      {
        name: `coldstart ${r.fn}: bundle / bare clients bundle`,
        value: r.sizeRatio,
        unit: 'x',
        goal: `<= ${GOAL_SIZE_RATIO}`,
        pass: r.sizeRatio <= GOAL_SIZE_RATIO,
      },
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function printDetail(
  results: ColdStartResult[],
  runs: number,
  load: { cores: number; loadavg1mBefore: number; loadavg1mAfter: number },
): void {
  console.log(`cold start, median of ${runs} fresh processes each (ms since process start; KB = 1000 bytes of minified ESM):`);
  console.log(
    `machine: ${load.cores} cores, 1-minute load average ${load.loadavg1mBefore.toFixed(2)} before, ${load.loadavg1mAfter.toFixed(2)} after`,
  );
  console.log(
    `${'function'.padEnd(8)}  ${'bundle'.padStart(9)}  ${'bare'.padStart(9)}  ${'init'.padStart(7)}  ${'bare'.padStart(7)}  ${'1st resp'.padStart(8)}  ${'bare'.padStart(7)}  ratio  ${'cpu'.padStart(6)}  ${'bare'.padStart(6)}  ratio`,
  );
  for (const r of results) {
    const kb = (n: number) => `${(n / KB).toFixed(0)} KB`;
    const ms = (n: number) => `${n.toFixed(1)}`;
    console.log(
      `${r.fn.padEnd(8)}  ${kb(r.bytes).padStart(9)}  ${kb(r.bareBytes).padStart(9)}  ${ms(r.initMs).padStart(7)}  ${ms(r.bareInitMs).padStart(7)}  ${ms(r.firstMs).padStart(8)}  ${ms(r.bareFirstMs).padStart(7)}  ${r.ratio.toFixed(2)}x  ${ms(r.cpuMs).padStart(6)}  ${ms(r.bareCpuMs).padStart(6)}  ${r.cpuRatio.toFixed(2)}x`,
    );
    console.log(
      `          largest: ${r.top
        .slice(0, 6)
        .map((t) => `${t.input} ${(t.bytes / KB).toFixed(0)} KB`)
        .join(', ')}`,
    );
  }
  console.log('');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./stats.ts');
  const rows = await runColdStartBench();
  printTable(rows);
  // Read back so a broken write fails here, not in whoever reads the file next.
  JSON.parse(await readFile(join(root, '.callvault', 'bench', 'coldstart.json'), 'utf8'));
  process.exit(rows.every((r) => r.pass) ? 0 : 1);
}
