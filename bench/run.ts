/**
 * `npm run bench`: every speed and memory goal, measured in one run and printed as one table.
 * Ratios compare numbers taken in the same run on the same machine; nothing here calls outside it.
 */
import { runIngestCpuBench, runIngestLatencyBench, runIngestOutageBench } from './ingest.ts';
import { printTable, type BenchRow } from './stats.ts';

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const want = (name: string) => only.length === 0 || only.includes(name);

const rows: BenchRow[] = [];
if (want('ingest')) {
  rows.push(...(await runIngestCpuBench()));
  rows.push(...(await runIngestLatencyBench()));
  rows.push(...(await runIngestOutageBench()));
}
printTable(rows);
process.exit(rows.every((r) => r.pass) ? 0 : 1);
