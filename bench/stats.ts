/** One line of the benchmark table. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  goal: string;
  pass: boolean;
}

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

export function printTable(rows: BenchRow[]): void {
  const w = Math.max(...rows.map((r) => r.name.length), 10);
  console.log(`${'benchmark'.padEnd(w)}  ${'value'.padStart(12)}  ${'goal'.padEnd(10)}  result`);
  console.log(`${'-'.repeat(w)}  ${'-'.repeat(12)}  ${'-'.repeat(10)}  ------`);
  for (const r of rows) {
    const v = `${r.value < 10 ? r.value.toFixed(3) : r.value.toFixed(1)} ${r.unit}`;
    console.log(`${r.name.padEnd(w)}  ${v.padStart(12)}  ${r.goal.padEnd(10)}  ${r.goal ? (r.pass ? 'PASS' : 'FAIL') : ''}`);
  }
}

/** Where `npm run bench` keeps its numbers as JSON: `.callvault/bench/` under the current directory. */
export const BENCH_DIR = '.callvault/bench';

/** Write one group's numbers to `.callvault/bench/{name}.json` (the latest run) and return the path. */
export async function writeBenchJson(name: string, data: unknown): Promise<string> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const dir = path.resolve(BENCH_DIR);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify({ measuredAt: new Date().toISOString(), ...(data as object) }, null, 2) + '\n');
  return file;
}
