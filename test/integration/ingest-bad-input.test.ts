import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';

const hangup = {
  event: 'call_hangup',
  data: {
    uuid: 'bad-input-call',
    direction: 'inbound',
    caller_number: '+442045205757',
    callee_number: '+441234567890',
    started_at: '2026-04-02T10:00:00Z',
    ended_at: '2026-04-02T10:00:45Z',
    call_duration: 45,
  },
};

describe('ingest handler: bad input', () => {
  let h: IngestHarness;
  beforeAll(async () => {
    h = await startIngestHarness({ limits: { maxBodyBytes: 4096 } });
  });
  afterAll(async () => h?.close());

  /** Every refused body is kept in quarantine/ with the status and the reason. */
  async function expectQuarantined(status: number, fragment: string) {
    const keys = await h.objects('quarantine/hipcall/');
    const docs = await Promise.all(
      keys.map(async (k) => JSON.parse(await h.object(k)) as { status: number; reason: string; body?: string; bodyBase64?: string }),
    );
    const match = docs.find(
      (d) => d.status === status && (d.body ?? Buffer.from(d.bodyBase64 ?? '', 'base64').toString('utf8')).includes(fragment),
    );
    expect(match, `a quarantined ${status} delivery containing ${fragment}`).toBeDefined();
    expect(match!.reason.length).toBeGreaterThan(10);
  }

  const cases: {
    name: string;
    body: string | undefined;
    options?: Parameters<IngestHarness['post']>[2];
    status: number;
    message: RegExp;
    /** Text the quarantined copy of the body contains. */
    quarantined: string;
  }[] = [
    { name: 'invalid JSON', body: '{"event": "call_hangup", "data": {', status: 400, message: /not valid JSON/, quarantined: '"data": {' },
    {
      name: 'wrong content type',
      body: 'event=call_hangup&uuid=1',
      options: { contentType: 'application/x-www-form-urlencoded' },
      status: 415,
      message: /not JSON.*application\/json/,
      quarantined: 'event=call_hangup&uuid=1',
    },
    {
      name: 'top-level array',
      body: '[{"event":"call_hangup"}]',
      status: 400,
      message: /is an array; a delivery must be a JSON object/,
      quarantined: '[{"event":"call_hangup"}]',
    },
    {
      name: 'top-level scalar',
      body: '"call_hangup"',
      status: 400,
      message: /is a string; a delivery must be a JSON object/,
      quarantined: '"call_hangup"',
    },
    {
      name: 'oversized body',
      body: JSON.stringify({ ...hangup, pad: 'x'.repeat(5000) }),
      status: 413,
      message: /limit is 4096 bytes/,
      quarantined: 'xxxxxxxx',
    },
    {
      name: 'invalid base64',
      body: undefined,
      options: { rawBase64: '!!!not-base64@@' },
      status: 400,
      message: /not valid base64/,
      quarantined: '!!!not-base64@@',
    },
    {
      name: 'missing call id',
      body: JSON.stringify({ event: 'call_hangup', data: { direction: 'inbound' } }),
      status: 400,
      message: /uuid/,
      quarantined: '"direction":"inbound"',
    },
    {
      name: 'wrong field types in identity',
      body: JSON.stringify({ event: 'call_hangup', data: { uuid: { nested: true } } }),
      status: 400,
      message: /uuid/,
      quarantined: '"nested":true',
    },
    {
      name: 'missing event type',
      body: JSON.stringify({ data: { uuid: 'no-event-type' } }),
      status: 400,
      message: /event/,
      quarantined: 'no-event-type',
    },
  ];

  for (const c of cases) {
    it(`answers ${c.status} with a clear message for ${c.name}`, async () => {
      const res = await h.post('hipcall', c.body, c.options);
      expect(res.status).toBe(c.status);
      expect(String(res.json.message)).toMatch(c.message);
      await expectQuarantined(c.status, c.quarantined);
    });
  }

  it('answers 400 for an empty body, and keeps it in quarantine too', async () => {
    const res = await h.post('hipcall', '');
    expect(res.status).toBe(400);
    expect(String(res.json.message)).toMatch(/empty/);
    const keys = await h.objects('quarantine/hipcall/');
    const docs = await Promise.all(keys.map(async (k) => JSON.parse(await h.object(k)) as { status: number; body?: string }));
    expect(docs.some((d) => d.status === 400 && d.body === '')).toBe(true);
  });

  it('answers 404 with no detail for a wrong token, and stores nothing', async () => {
    const before = (await h.objects('')).length;
    const res = await h.post('hipcall', JSON.stringify(hangup), { token: 'wrong-token-wrong-token' });
    expect(res.status).toBe(404);
    expect(Object.keys(res.json)).toEqual(['message']);
    expect(String(res.json.message)).not.toMatch(/token is|invalid token|hipcall/i);
    expect((await h.objects('')).length).toBe(before);
  });

  it('answers the same 404 for an unknown source', async () => {
    const wrongToken = await h.post('hipcall', JSON.stringify(hangup), { token: 'wrong-token-wrong-token' });
    const unknown = await h.post('nosuchsource', JSON.stringify(hangup));
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual(wrongToken.json);
  });

  it('answers GET with 200 so CallHippo can check the URL', async () => {
    const res = await h.post('callhippo', undefined, { method: 'GET', contentType: null });
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('ok');
  });

  it('accepts a base64 body from API Gateway', async () => {
    const res = await h.post('hipcall', Buffer.from(JSON.stringify({ ...hangup, data: { ...hangup.data, uuid: 'b64-call' } })));
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('stored');
    expect((await h.item('hipcall#b64-call'))?.durationSec).toBe(45);
  });

  it('stores a delivery with wrongly typed optional fields, dropping only those fields', async () => {
    const body = {
      event: 'call_hangup',
      data: { ...hangup.data, uuid: 'lenient-call', call_duration: 'forty', started_at: 12, hangup_by: ['x'] },
    };
    const res = await h.post('hipcall', JSON.stringify(body));
    expect(res.status).toBe(200);
    const item = await h.item('hipcall#lenient-call');
    expect(item?.durationSec).toBeUndefined();
    expect(item?.endedAt).toBe('2026-04-02T10:00:45.000Z');
    expect(item?.fromNumber).toBe('+442045205757');
  });

  it('stores a delivery with __proto__ keys without polluting any object', async () => {
    const text = `{"event":"call_hangup","__proto__":{"polluted":"yes"},"data":{"uuid":"proto-call","__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":"yes"}},"direction":"inbound","caller_number":"+442045205757","started_at":"2026-04-02T10:00:00Z"}}`;
    const res = await h.post('hipcall', text);
    expect(res.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    const item = await h.item('hipcall#proto-call');
    expect(item?.direction).toBe('inbound');
    expect(Object.keys(item ?? {})).not.toContain('__proto__');
    expect((await h.objects('raw/hipcall/2026/04/02/proto-call/')).length).toBe(1);
  });

  it('archives a non-call Hipcall event raw and acknowledges it', async () => {
    const task = { event: 'task_create', data: { id: 36714, name: 'Send email to client', priority: 'medium', done: false } };
    const res = await h.post('hipcall', JSON.stringify(task));
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('archived');
    const keys = await h.objects('raw/hipcall/');
    const bodies = await Promise.all(keys.map((k) => h.object(k)));
    expect(bodies).toContain(JSON.stringify(task));
  });

  it('never answers 5xx for any of these inputs', async () => {
    const inputs: [string | undefined, Parameters<IngestHarness['post']>[2]][] = [
      ['null', {}],
      ['123', {}],
      ['{}', {}],
      ['{"event": null}', {}],
      ['{"event": "call_hangup", "data": null}', {}],
      ['{"event": "call_hangup", "data": []}', {}],
      ['\u0000\u0001', { contentType: 'application/octet-stream' }],
      [undefined, { contentType: null }],
    ];
    for (const [body, options] of inputs) {
      const res = await h.post('hipcall', body, options);
      expect(res.status, `input ${JSON.stringify(body)}`).toBeLessThan(500);
      expect(typeof res.json.message === 'string' || typeof res.json.status === 'string').toBe(true);
    }
  });
});
