// Floor: node:http server + K SDK requests per delivery against emulator child processes, 16 conns.
import { createServer, request, Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEmulators } from '#bin/local/emulators.ts';
import { dynamoDocument, s3Client, sqsClient, FAST } from '#functions/adapters/aws.ts';
import { PutCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mode = process.argv[2] ?? 'none';
const memory = process.argv[3] === 'mem';
const em = await startEmulators({ processes: true, ...(memory ? {} : { dataDir: await mkdtemp(join(tmpdir(), 'floor-')) }) });
const doc = dynamoDocument(FAST, em.target); const s3 = s3Client(FAST, em.target); const sqs = sqsClient(FAST, em.target);
let n = 0; let bad = 0;
const srv = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const id = `c${n++}`; const body = Buffer.concat(chunks).toString();
    try {
      if (mode.includes('g')) await doc.send(new GetCommand({ TableName: em.tables.calls, Key: { callKey: id } }));
      if (mode.includes('d')) await doc.send(new PutCommand({ TableName: em.tables.calls, Item: { callKey: id, body } }));
      if (mode.includes('s')) await s3.send(new PutObjectCommand({ Bucket: em.bucket, Key: `raw/${id}.json`, Body: body }));
      if (mode.includes('q')) await sqs.send(new SendMessageCommand({ QueueUrl: em.queues.media, MessageBody: body }));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    } catch (e) { if (bad < 1) console.error(String(e)); res.writeHead(500).end(String(e)); }
  });
});
await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
const port = (srv.address() as AddressInfo).port;
const agent = new Agent({ keepAlive: true, maxSockets: 16 });
const body = JSON.stringify({ event: 'call_hangup', data: { uuid: 'x'.repeat(36), caller_number: '+441234567890', record_url: 'http://127.0.0.1/x.mp3' }, pad: 'y'.repeat(1200) });
const send = () => new Promise<number>((resolve, reject) => {
  const t = performance.now();
  const r = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => { res.resume(); res.on('end', () => { if (res.statusCode !== 200) bad++; resolve(performance.now() - t); }); });
  r.on('error', reject); r.end(body);
});
async function run(total: number) {
  let i = 0; const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => { while (i++ < total) lat.push(await send()); }));
  const s = (performance.now() - t0) / 1000; lat.sort((a, b) => a - b);
  return { perSec: Math.round(total / s), p50: lat[Math.floor(lat.length * 0.5)]!.toFixed(1), p99: lat[Math.floor(lat.length * 0.99)]!.toFixed(1) };
}
await run(500);
const cpu0 = process.cpuUsage();
const r = await run(3000);
const cpu = process.cpuUsage(cpu0);
console.log(mode, memory ? 'mem' : 'disk', JSON.stringify(r), 'bad', bad, 'main cpu ms/req', ((cpu.user + cpu.system) / 1000 / 3000).toFixed(2));
srv.close(); agent.destroy(); await em.close(); process.exit(0);
