/**
 * Both indexes cover every call: a post-call delivery carries no start time, yet `callvault
 * calls --day` and `calls --customer` find it (indexed by callAt, its first delivery's time). The
 * delivery goes through the real ingest; the CLI command runs in-process against the same emulators
 * through an endpoints.json, as `--local` reads the local stack's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callsCommand } from '#bin/cli/archive.ts';
import type { ReaderClient } from '#bin/cli/archive-reader.ts';
import { fixture, hipcallHangup, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';
import { useLocalEndpoints } from '#test/support/local-endpoints.ts';

let h: IngestHarness;
let restoreEndpoints: (() => Promise<void>) | undefined;

beforeAll(async () => {
  h = await startIngestHarness({
    defaultCountry: 'GB',
    sources: [
      { id: 'postcall', provider: 'postcall' },
      { id: 'callhippo', provider: 'callhippo' },
      { id: 'hipcall', provider: 'hipcall' },
    ],
  });
  restoreEndpoints = await useLocalEndpoints(h.emulators);
});

afterAll(async () => {
  await restoreEndpoints?.();
  await h?.close();
});

/** `callvault calls ... --local --json`, in-process: its exit code and the call keys it listed. */
async function calls(...args: string[]): Promise<{ code: number; callKeys: string[] }> {
  const lines: string[] = [];
  const code = await callsCommand([...args, '--local', '--json', '--limit', '1000'], (line) => void lines.push(line));
  return { code, callKeys: (JSON.parse(lines.join('\n')) as { callKey: string }[]).map((i) => i.callKey) };
}

describe('calls --day and --customer', () => {
  it('find a post-call call, which has no startedAt, by its day and by its customer number', async () => {
    const before = new Date().toISOString();
    const delivery = {
      ...(JSON.parse(fixture('postcall/post_call.json')) as Record<string, unknown>),
      callId: 'pc-indexed',
      callerDetails: { name: 'Jane', phoneNumber: '+44 20 4520 5757' },
    };
    expect((await h.post('postcall', JSON.stringify(delivery))).json.status).toBe('stored');
    const after = new Date().toISOString();

    const item = await h.item('postcall#pc-indexed');
    expect(item).not.toHaveProperty('startedAt');
    const callAt = item?.callAt as string;
    expect(callAt >= before && callAt <= after).toBe(true);
    expect(item).toMatchObject({ customerNumber: '+442045205757', day: callAt.slice(0, 10) });

    expect(await calls('--day', callAt.slice(0, 10))).toEqual({ code: 0, callKeys: expect.arrayContaining(['postcall#pc-indexed']) });
    expect(await calls('--customer', '+44 20 4520 5757')).toEqual({ code: 0, callKeys: ['postcall#pc-indexed'] });
    // A callAt range that holds the call finds it; one that ends before it does not.
    expect((await calls('--customer', '+442045205757', '--from', before, '--to', after)).callKeys).toEqual(['postcall#pc-indexed']);
    expect((await calls('--customer', '+442045205757', '--to', '2000-01-01')).callKeys).toEqual([]);
  });

  it('find a CallHippo call seen only through a status notification', async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    const status = {
      ...(JSON.parse(fixture('callhippo/call_status.json')) as Record<string, unknown>),
      callSid: 'ch-status-only',
      callType: 'Outgoing',
      fromNumber: '+441234567890',
      toNumber: '+442079460123',
      dateTime: at,
    };
    expect((await h.post('callhippo', JSON.stringify(status))).status).toBe(200);
    const item = await h.item('callhippo#ch-status-only');
    expect(item).toMatchObject({ customerNumber: '+442079460123', callAt: expect.any(String), day: expect.any(String) });

    expect((await calls('--day', item!.day as string)).callKeys).toContain('callhippo#ch-status-only');
    expect((await calls('--customer', '+442079460123')).callKeys).toEqual(['callhippo#ch-status-only']);
  });
});

/** Every HTTP request an SDK client sends, as `DynamoDB_20120810.Query` or `S3 GET /key`, retries included. */
function requestLog(): { requests: string[]; instrument: (client: ReaderClient) => void } {
  const requests: string[] = [];
  return {
    requests,
    instrument: (client) =>
      (client.middlewareStack as { add(mw: unknown, opts: { step: string; name: string }): void }).add(
        (next: (args: { request: { headers: Record<string, string>; method: string; path: string } }) => Promise<unknown>) =>
          (args: { request: { headers: Record<string, string>; method: string; path: string } }) => {
            requests.push(args.request.headers['x-amz-target'] ?? `S3 ${args.request.method} ${args.request.path}`);
            return next(args);
          },
        { step: 'finalizeRequest', name: 'countRequests' },
      ),
  };
}

describe('calls list --customer over a year', () => {
  it("reads only the byCustomerNumber index: one Query for a year of one number's calls, no Scan and no item reads", async () => {
    const customer = '+442079460999';
    const uuids: string[] = [];
    for (let month = 1; month <= 12; month++) {
      const uuid = `year-${String(month).padStart(2, '0')}`;
      uuids.push(uuid);
      const body = JSON.parse(hipcallHangup(uuid)) as { data: Record<string, unknown> };
      const at = `2025-${String(month).padStart(2, '0')}-15T10:00:00Z`;
      Object.assign(body.data, { caller_number: customer, started_at: at, answered_at: at, ended_at: at });
      expect((await h.post('hipcall', JSON.stringify(body))).json.status).toBe('stored');
    }
    // Another number's call in the same year: in the table, not in the answer.
    expect((await h.post('hipcall', hipcallHangup('year-other'))).json.status).toBe('stored');

    const log = requestLog();
    const lines: string[] = [];
    const code = await callsCommand(
      ['list', '--customer', customer, '--from', '2025-01-01', '--to', '2025-12-31', '--local', '--json', '--limit', '1000'],
      (l) => void lines.push(l),
      { instrument: log.instrument },
    );
    expect(code).toBe(0);
    expect((JSON.parse(lines.join('\n')) as { callKey: string }[]).map((i) => i.callKey)).toEqual(uuids.map((u) => `hipcall#${u}`));
    expect(log.requests).toEqual(['DynamoDB_20120810.Query']);
  });
});
