import { readFileSync, readdirSync } from 'node:fs';
import { loadWorkload, sendDeliveries } from './load.ts';
const e = JSON.parse(readFileSync(process.env.CALLVAULT_DATA_DIR + '/endpoints.json', 'utf8'));
const url = e.sources[0].url;
const root = Number(process.env.STACK_PID);
const tree = () => {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  const ppid = new Map<number, number>();
  for (const p of all) try { const s = readFileSync(`/proc/${p}/stat`, 'utf8'); ppid.set(Number(p), Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1])); } catch {}
  const out = [root]; for (const [p, pp] of ppid) if (pp === root) out.push(p); return out;
};
const cpu = () => Object.fromEntries(tree().map((p) => { const s = readFileSync(`/proc/${p}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('"kind":"') ? readFileSync(`/proc/${p}/cmdline`, 'utf8').match(/"kind":"(\w+)"/)![1] : 'main'; return [cmd, (Number(f[11]) + Number(f[12])) * 10]; }));
await sendDeliveries(url, loadWorkload({ runId: 'w' + Date.now(), deliveries: 200, calls: 200, demoMedia: e.demoMedia }), 8);
for (const c of (process.argv[2] ?? '16').split(',').map(Number)) {
  const a = cpu();
  const r = await sendDeliveries(url, loadWorkload({ runId: 'p' + Date.now(), demoMedia: e.demoMedia }), c);
  const b = cpu();
  const per = Object.fromEntries(Object.keys(b).map((k) => [k, ((b[k]! - (a[k] ?? 0)) / 2000).toFixed(2)]));
  console.log(c, JSON.stringify({ tp: r.throughput.toFixed(0), p50: r.p50.toFixed(1), p99: r.p99.toFixed(1), st: r.statuses, out: r.outcomes, cpuMsPerDelivery: per }));
}
