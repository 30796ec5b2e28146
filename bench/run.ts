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
if (want('coldstart')) rows.push(...(await (await import('./coldstart.ts')).runColdStartBench()));
if (want('media')) {
  const { runMediaBench } = await import('./media.ts');
  rows.push(...(await runMediaBench()));
}
if (want('insight')) {
  // The real local stack, as a user runs it (npm start), in a child process on free ports.
  const { startLocalStackProcess } = await import('#test/support/local-stack-process.ts');
  const { runInsightBench } = await import('./insight.ts');
  const stack = await startLocalStackProcess();
  try {
    rows.push(...(await runInsightBench(stack.endpoints)));
  } finally {
    await stack.stop();
  }
}
if (want('fault')) rows.push(...(await (await import('./fault.ts')).runFaultBench()));
if (want('load')) rows.push(...(await (await import('./load.ts')).runLoadGroup()));
if (want('cli')) rows.push(...(await import('./cli.ts')).runCliBench());
printTable(rows);
process.exit(rows.every((r) => r.pass) ? 0 : 1);
