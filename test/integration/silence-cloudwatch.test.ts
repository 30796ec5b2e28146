/**
 * The deployed silence check end to end: the real handler through its composition root, its CloudWatch
 * client (under the AWS contract, so its calls are judged against the silence role) pointed at a node:http
 * stand-in of CloudWatch's GetMetricData (no emulator the tests start has CloudWatch). A source that
 * delivered is not silent; one whose metrics cannot be read counts SilenceCheckFailed.
 */
import { createServer, type Server } from 'node:http';
import { match } from '#test/support/match.ts';
import type { AddressInfo } from 'node:net';
import type { ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envSink, memorySink, strictAwsTarget, teeSink } from '#bin/aws-fidelity/aws-contract.ts';
import { fakeContext } from '#bin/local/poller.ts';
import { LOCAL_CREDENTIALS } from '#bin/local/target.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { METRIC } from '#core/metrics.ts';
import { silenceDeps } from '#functions/silence/deps.ts';
import { createSilenceHandler } from '#functions/silence/handler.ts';
import { checkPermissions, synthTemplate } from '#test/support/permissions-contract.ts';
import { parseEmf } from '#test/support/emf.ts';

const allDay = { minutes: 30, days: 'Mon-Sun', hours: '00:00-24:00', timeZone: 'UTC' };
const config = parseConfig({
  sources: [
    { id: 'busy', provider: 'postcall', silence: allDay },
    { id: 'denied', provider: 'postcall', silence: allDay },
  ],
});

let server: Server;
let endpoint: string;
/** What the stand-in was asked: the source of each GetMetricData. */
const asked: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      const reply = (status: number, json: unknown) =>
        void res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(json));
      if (req.headers['x-amz-target'] !== 'GraniteServiceVersion20100801.GetMetricData')
        return reply(400, { __type: 'UnknownOperationException', message: 'only GetMetricData is faked' });
      const input = JSON.parse(body) as {
        MetricDataQueries: { Id: string; MetricStat: { Metric: { Dimensions: { Value: string }[] } } }[];
      };
      const source = input.MetricDataQueries[0]!.MetricStat.Metric.Dimensions[0]!.Value;
      asked.push(source);
      if (source === 'denied')
        return reply(400, { __type: 'AccessDeniedException', message: 'User is not authorized to perform: cloudwatch:GetMetricData' });
      // `busy` stored a delivery two minutes ago.
      const minute = Math.floor(Date.now() / 60_000) * 60 - 120;
      reply(200, {
        MetricDataResults: [{ Id: input.MetricDataQueries[0]!.Id, Timestamps: [minute], Values: [1], StatusCode: 'Complete' }],
      });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => new Promise((ok) => server?.close(ok)));

describe('the silence check against CloudWatch', () => {
  it('reads each watched source, publishes SourceSilent, counts SilenceCheckFailed for the one it cannot read, within its role', async () => {
    const calls = memorySink();
    const lines: string[] = [];
    const target = strictAwsTarget(
      { endpoints: { cloudwatch: endpoint }, region: 'us-east-1', credentials: LOCAL_CREDENTIALS },
      'silence',
      teeSink(calls, envSink()),
    );
    const handler = createSilenceHandler(
      silenceDeps({ POWERTOOLS_LOG_LEVEL: 'SILENT' }, { config, target, metricsOut: (line) => void lines.push(line) }),
    );
    const answer = await handler({ source: 'aws.events' } as ScheduledEvent, fakeContext('callvault-silence', 60_000));
    expect(answer.sources).toEqual([{ source: 'busy', silent: false, lastDeliveryAt: match.any(String) as string }]);
    expect(asked.sort()).toEqual(['busy', 'denied']);

    const metrics = lines.flatMap((l) => parseEmf(l));
    expect(metrics.filter((m) => m.name === METRIC.sourceSilent).map((m) => [m.fields.source, m.values])).toEqual([['busy', [0]]]);
    expect(metrics.filter((m) => m.name === METRIC.silenceCheckFailed).map((m) => [m.fields.source, m.values])).toEqual([['denied', [1]]]);

    // Both reads were recorded as the IAM action AWS authorises, and the silence role allows them.
    expect(calls.calls.map((c) => `${c.fn} ${c.action} ${c.resource} ${c.ok}`).sort()).toEqual([
      'silence cloudwatch:GetMetricData * false',
      'silence cloudwatch:GetMetricData * true',
    ]);
    const template = synthTemplate(config);
    expect(checkPermissions(template, calls.calls).violations).toEqual([]);
  }, 60_000);
});
