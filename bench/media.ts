/**
 * Media worker memory and throughput: a 1 GiB recording streamed through the real worker into the S3
 * emulator must peak under 192 MiB RSS and within 10% of the peak for a 50 MiB file, also when the
 * source sends small (1-4 KiB) pieces (aws/aws-sdk-js-v3#8286: lib-storage retaining small views on
 * Node 24), at no less than 0.85x the throughput of a bare lib-storage Upload of the same source.
 *
 * The emulators and the source server run here; each download runs in a child process of its own, the
 * worker bundled as CDK bundles it and started with the flags Lambda's Node.js runtime passes for the
 * function's memory size (--expose-gc, --max-semi-space-size=M/20, --max-old-space-size=0.9M), so its
 * `maxRSS` is what Lambda would report as "Max Memory Used" for the worker alone.
 * Run alone: `npx tsx bench/media.ts` or `npm run bench -- media`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { localClientConfig, startEmulators, type Emulators } from '#bin/local/emulators.ts';
import { callKeyOf, type CallRecord, type MediaJob } from '#core/types.ts';
import { MEDIA_FUNCTION_ENV } from '#core/media.ts';
import type { BenchRow } from './stats.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const GOAL_PEAK_MIB = 192;
const GOAL_FLAT = 1.1;
const GOAL_RATIO = 0.85;
const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

export interface MediaBenchOptions {
  /** The big file (default 1 GiB) and the small one (default 50 MiB). */
  bigBytes?: number;
  smallBytes?: number;
  /** Lambda memory size whose runtime flags the child gets (default 256, the recommended size). */
  lambdaMemoryMb?: number;
  /** Bare/worker pairs on the big file for the throughput ratio (default 3). */
  pairs?: number;
  log?: (line: string) => void;
}

/** The V8 flags Lambda's Node.js bootstrap derives from AWS_LAMBDA_FUNCTION_MEMORY_SIZE. */
export function lambdaNodeFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [
    '--expose-gc',
    '--max-http-header-size=81920',
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
}

interface ChildResult {
  bytes: number;
  ms: number;
  cpuMs: number;
  rssBeforeKiB: number;
  maxRssKiB: number;
  peaksKiB: { heapTotal: number; arrayBuffers: number; external: number; rss: number };
  heapAfterGcKiB: number;
  chunks: number;
  avgChunk: number;
  pinned: number;
  failures: number;
}

/**
 * The source: one 1 MiB pseudo-random block, repeated. `/big` sends a plain body in 64 KiB writes;
 * `/small` sends a chunked body in 1-4 KiB writes, so every piece reaches the worker as its own small
 * view onto a larger socket read (the shape of aws/aws-sdk-js-v3#8286).
 */
const BLOCK = (() => {
  const b = Buffer.allocUnsafe(MiB);
  for (let off = 0, i = 0; off < MiB; i++) off += createHash('sha256').update(`callvault-bench-${i}`).digest().copy(b, off);
  return b;
})();

function expectedSha(bytes: number): string {
  const h = createHash('sha256');
  for (let off = 0; off < bytes; off += MiB) h.update(BLOCK.subarray(0, Math.min(MiB, bytes - off)));
  return h.digest('hex');
}

function streamSource(res: ServerResponse, total: number, small: boolean): void {
  res.writeHead(200, small ? { 'content-type': 'audio/mpeg' } : { 'content-type': 'audio/mpeg', 'content-length': String(total) });
  let off = 0;
  let n = 0;
  const pump = (): void => {
    while (off < total) {
      const at = off % MiB;
      const len = Math.min(small ? 1024 * (1 + (n++ % 4)) : 64 * 1024, MiB - at, total - off);
      off += len;
      if (!res.write(BLOCK.subarray(at, at + len))) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

async function startSource(): Promise<{ server: Server; url: (path: string) => string; hostPort: string }> {
  const server = createServer((req, res) => {
    const m = /^\/(big|small)\/(\d+)\.mp3$/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end();
    streamSource(res, Number(m[2]), m[1] === 'small');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { server, url: (p) => `http://127.0.0.1:${port}${p}`, hostPort: `127.0.0.1:${port}` };
}

/** Bundle the child the way the CDK stack bundles the function (minified ESM, AWS SDK included). */
async function bundleChild(): Promise<string> {
  const outdir = join(root, '.bench');
  await mkdir(outdir, { recursive: true });
  const outfile = join(outdir, 'media-child.mjs');
  await build({
    entryPoints: [join(root, 'bench/media-child.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire as __cvCreateRequire } from 'node:module'; const require = __cvCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
  return outfile;
}

function runChild(file: string, flags: string[], input: object, env: Record<string, string>): Promise<ChildResult> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [...flags, file, JSON.stringify(input)], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        ok(JSON.parse(line) as ChildResult);
      } catch (e) {
        fail(new Error(`media bench child failed (${(e as Error).message}): ${err.slice(-2000) || out.slice(-2000)}`));
      }
    });
  });
}

const mib = (kib: number) => kib / 1024;
const mbps = (r: ChildResult) => r.bytes / MiB / (r.ms / 1000);

/** Run the media benchmark; rows for bench/run.ts's table. */
export async function runMediaBench(opts: MediaBenchOptions = {}): Promise<BenchRow[]> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const big = opts.bigBytes ?? GiB;
  const small = opts.smallBytes ?? 50 * MiB;
  const memoryMb = opts.lambdaMemoryMb ?? 256;
  const pairs = opts.pairs ?? 3;
  const flags = lambdaNodeFlags(memoryMb);
  const dataDir = await mkdtemp(join(tmpdir(), 'cv-media-bench-'));
  let em: Emulators | undefined;
  let source: Awaited<ReturnType<typeof startSource>> | undefined;
  try {
    em = await startEmulators({ dataDir });
    source = await startSource();
    const child = await bundleChild();
    const env: Record<string, string> = {
      ...em.env,
      CALLVAULT_FETCH_ALLOW: source.hostPort,
      CALLVAULT_CONFIG: JSON.stringify({ limits: { mediaMaxBytes: 2 * GiB } }),
      POWERTOOLS_LOG_LEVEL: 'WARN',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
      // As the media function's environment sets it (see MEDIA_FUNCTION_ENV).
      ...MEDIA_FUNCTION_ENV,
    };
    const s3c = new S3Client(localClientConfig(em.endpoints.s3));
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(em.endpoints.dynamodb)));
    log(`media bench: children run with Lambda's Node.js flags for ${memoryMb} MB: ${flags.join(' ')}`);
    let n = 0;
    const report = (r: ChildResult) =>
      log(
        `  ${(r.bytes / MiB).toFixed(0)} MiB in ${(r.ms / 1000).toFixed(1)} s (${mbps(r).toFixed(1)} MiB/s, ${(r.cpuMs / 1000).toFixed(1)} s CPU); RSS ${mib(r.rssBeforeKiB).toFixed(0)} MiB loaded, peak ${mib(r.maxRssKiB).toFixed(1)} MiB ` +
          `(heap ${mib(r.peaksKiB.heapTotal).toFixed(0)}, buffers ${mib(r.peaksKiB.arrayBuffers).toFixed(0)}); ${r.chunks} body chunks of ${(r.avgChunk / 1024).toFixed(1)} KiB avg`,
      );

    const worker = async (label: string, kind: 'big' | 'small', bytes: number): Promise<ChildResult> => {
      const callId = `bench-${kind}-${bytes}-${++n}`;
      const job: MediaJob = {
        provider: 'hipcall',
        source: 'hipcall',
        callId,
        media: 'recording',
        url: source!.url(`/${kind}/${bytes}.mp3`),
        queuedAt: new Date().toISOString(),
      };
      log(`media bench: ${label} ...`);
      const r = await runChild(child, flags, { mode: 'worker', url: job.url, job }, env);
      const { Item } = await doc.send(
        new GetCommand({ TableName: em!.tables.calls, Key: { callKey: callKeyOf('hipcall', callId) }, ConsistentRead: true }),
      );
      const info = (Item as CallRecord | undefined)?.recording;
      if (r.failures || info?.state !== 'stored' || info.bytes !== bytes || info.sha256 !== expectedSha(bytes)) {
        throw new Error(`media bench: ${label} did not store the file whole: ${JSON.stringify(info)}`);
      }
      await s3c.send(new DeleteObjectCommand({ Bucket: em!.bucket, Key: info.s3Key! }));
      report(r);
      return r;
    };
    const bare = async (label: string, kind: 'big' | 'small', bytes: number): Promise<ChildResult> => {
      const key = `bench/bare-${kind}-${++n}.mp3`;
      log(`media bench: ${label} ...`);
      const r = await runChild(child, flags, { mode: 'bare', url: source!.url(`/${kind}/${bytes}.mp3`), key, bucket: em!.bucket }, env);
      await s3c.send(new DeleteObjectCommand({ Bucket: em!.bucket, Key: key }));
      report(r);
      return r;
    };

    const sz = (b: number) => (b >= GiB ? `${b / GiB} GiB` : `${Math.round(b / MiB)} MiB`);
    // The short file three times per source: its peak is the worst of them (GC timing varies from run to run).
    const shortBig: ChildResult[] = [];
    const shortSmall: ChildResult[] = [];
    for (let i = 1; i <= 3; i++) {
      shortBig.push(await worker(`worker, ${sz(small)}, 64 KiB writes (${i}/3)`, 'big', small));
      shortSmall.push(await worker(`worker, ${sz(small)}, 1-4 KiB chunked writes (${i}/3)`, 'small', small));
    }
    // Bare and worker alternate on the same source, so a busy moment of the machine hits both alike;
    // each side's throughput is its best run.
    const bareRuns: ChildResult[] = [];
    const bigRuns: ChildResult[] = [];
    for (let i = 1; i <= pairs; i++) {
      bareRuns.push(await bare(`bare Upload, ${sz(big)}, 64 KiB writes (${i}/${pairs})`, 'big', big));
      bigRuns.push(await worker(`worker, ${sz(big)}, 64 KiB writes (${i}/${pairs})`, 'big', big));
    }
    const trickle = await worker(`worker, ${sz(big)}, 1-4 KiB chunked writes`, 'small', big);
    const bareTrickle = await bare(`bare Upload, ${sz(big)}, 1-4 KiB chunked writes (for comparison)`, 'small', big);
    s3c.destroy();
    doc.destroy();

    const peak = (rs: ChildResult[]) => Math.max(...rs.map((r) => mib(r.maxRssKiB)));
    const speed = (rs: ChildResult[]) => Math.max(...rs.map(mbps));
    const bigPeak = peak(bigRuns);
    const tricklePeak = mib(trickle.maxRssKiB);
    const shortBigPeak = peak(shortBig);
    const shortSmallPeak = peak(shortSmall);
    const ratio = speed(bigRuns) / speed(bareRuns);
    const row = (name: string, value: number, unit: string, goal = '', pass = true): BenchRow => ({
      name: `media: ${name}`,
      value,
      unit,
      goal,
      pass,
    });
    return [
      row(`worker peak RSS, ${sz(small)}`, shortBigPeak, 'MiB', `< ${GOAL_PEAK_MIB}`, shortBigPeak < GOAL_PEAK_MIB),
      row(`worker peak RSS, ${sz(big)}`, bigPeak, 'MiB', `< ${GOAL_PEAK_MIB}`, bigPeak < GOAL_PEAK_MIB),
      row(`peak ${sz(big)} / ${sz(small)}`, bigPeak / shortBigPeak, 'x', `<= ${GOAL_FLAT}`, bigPeak <= shortBigPeak * GOAL_FLAT),
      row(`worker peak RSS, ${sz(small)}, 1-4 KiB pieces`, shortSmallPeak, 'MiB', `< ${GOAL_PEAK_MIB}`, shortSmallPeak < GOAL_PEAK_MIB),
      row(`worker peak RSS, ${sz(big)}, 1-4 KiB pieces`, tricklePeak, 'MiB', `< ${GOAL_PEAK_MIB}`, tricklePeak < GOAL_PEAK_MIB),
      row(
        `peak ${sz(big)} / ${sz(small)}, 1-4 KiB pieces`,
        tricklePeak / shortSmallPeak,
        'x',
        `<= ${GOAL_FLAT}`,
        tricklePeak <= shortSmallPeak * GOAL_FLAT,
      ),
      row(`worker throughput, ${sz(big)}`, speed(bigRuns), 'MiB/s'),
      row(`bare Upload throughput, ${sz(big)}`, speed(bareRuns), 'MiB/s'),
      row('worker / bare Upload throughput', ratio, 'x', `>= ${GOAL_RATIO}`, ratio >= GOAL_RATIO),
      row(`bare Upload peak RSS, ${sz(big)}, 64 KiB writes`, peak(bareRuns), 'MiB'),
      row(`bare Upload peak RSS, ${sz(big)}, 1-4 KiB pieces`, mib(bareTrickle.maxRssKiB), 'MiB'),
      row(`avg body piece, 1-4 KiB pieces`, trickle.avgChunk / 1024, 'KiB'),
    ];
  } finally {
    await new Promise<void>((ok) => (source ? source.server.close(() => ok()) : ok()));
    source?.server.closeAllConnections();
    await em?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// `npx tsx bench/media.ts`: this group alone.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { printTable } = await import('./stats.ts');
  const rows = await runMediaBench();
  printTable(rows);
  process.exit(rows.every((r) => r.pass) ? 0 : 1);
}
