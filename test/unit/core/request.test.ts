import { describe, expect, it } from 'vitest';
import { isJsonContentType, mayHoldInexactNumber, readBody } from '#core/request.ts';
import { ipAllowed } from '#core/source-ip.ts';
import { match } from '#test/support/match.ts';

const read = (body: string | undefined, extra: Partial<Parameters<typeof readBody>[0]> = {}) =>
  readBody({ body, contentType: 'application/json', maxBytes: 1024, ...extra });

describe('readBody', () => {
  it('parses a JSON object and hashes the exact bytes', () => {
    expect(read('{"a":1}')).toMatchObject({
      ok: true,
      json: { a: 1 },
      sha256: '015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862',
    });
  });

  it('decodes a base64 body', () => {
    const r = read(Buffer.from('{"b":2}').toString('base64'), { isBase64Encoded: true });
    expect(r.ok && r.json).toEqual({ b: 2 });
  });

  it.each([
    ['invalid base64', '@@@@', { isBase64Encoded: true }, 400, /not valid base64/],
    ['a body over the limit', 'x'.repeat(1025), {}, 413, /1025 bytes; the limit is 1024/],
    ['a form body', 'a=1', { contentType: 'application/x-www-form-urlencoded' }, 415, /not JSON/],
    ['an empty body', '', {}, 400, /empty/],
    ['whitespace only', '  \n', {}, 400, /empty/],
    ['broken JSON', '{"a":', {}, 400, /not valid JSON/],
    ['an array', '[1,2]', {}, 400, /is an array/],
    ['a number', '42', {}, 400, /is a number/],
    ['null', 'null', {}, 400, /is null/],
  ] as const)('refuses %s, and keeps the bytes as received for quarantine', (_name, body, extra, status, message) => {
    const r = read(body, extra);
    expect(r).toMatchObject({ ok: false, refusal: { status, message: match.stringMatching(message) } });
    // What goes to quarantine/ is exactly what arrived (a body that is not valid base64 is kept as its text).
    expect(r.bytes.equals(Buffer.from(body, 'utf8'))).toBe(true);
  });

  it('parses a body that starts with a UTF-8 byte order mark, and keeps the mark in the bytes', () => {
    const r = read('\uFEFF{"a":1}');
    expect(r).toMatchObject({ ok: true, json: { a: 1 } });
    expect([...r.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  });

  it('parses a base64 body that starts with a byte order mark', () => {
    const r = read(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"b":2}')]).toString('base64'), { isBase64Encoded: true });
    expect(r.ok && r.json).toEqual({ b: 2 });
  });

  it('refuses a body that is only a byte order mark as empty', () => {
    const r = read('\uFEFF');
    expect(!r.ok && r.refusal.message).toMatch(/empty/);
  });

  it('keeps numbers JavaScript cannot hold exactly as their source text', () => {
    const r = read('{"ns":1737367200123456789,"score":85}');
    expect(r.ok && r.json).toEqual({ ns: '1737367200123456789', score: 85 });
  });

  it('checks the size after decoding base64', () => {
    const r = read(Buffer.from(`{"p":"${'y'.repeat(1100)}"}`).toString('base64'), { isBase64Encoded: true });
    expect(!r.ok && r.refusal.status).toBe(413);
  });
});

describe('isJsonContentType', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON', true],
    ['application/vnd.api+json', true],
    ['text/json', true],
    [undefined, true],
    ['text/plain', false],
    ['multipart/form-data; boundary=x', false],
    ['application/xml', false],
  ])('%s → %s', (type, expected) => expect(isJsonContentType(type)).toBe(expected));
});

describe('ipAllowed', () => {
  it('matches exact addresses and CIDRs', () => {
    expect(ipAllowed('31.192.211.2', ['31.192.211.2'])).toBe(true);
    expect(ipAllowed('31.192.211.2', ['31.192.211.0/24'])).toBe(true);
    expect(ipAllowed('31.192.212.2', ['31.192.211.0/24'])).toBe(false);
    expect(ipAllowed('::ffff:31.192.211.2', ['31.192.211.2/32'])).toBe(true);
    expect(ipAllowed('10.0.0.1', ['0.0.0.0/0'])).toBe(true);
  });
  it('refuses what it cannot read', () => {
    expect(ipAllowed('not-an-ip', ['0.0.0.0/0'])).toBe(false);
    expect(ipAllowed('1.2.3.4', ['1.2.3.4/40'])).toBe(false);
    expect(ipAllowed('256.1.1.1', ['0.0.0.0/0'])).toBe(false);
  });
});

describe('mayHoldInexactNumber (the fast path that skips the exact parse)', () => {
  it.each([
    ['a nanosecond timestamp', '{"t": 1737367200123456789}', true],
    ['a long decimal', '{"x": 0.10000000000000000000001}', true],
    ['an exponent', '{"x": 1e200}', true],
    ['a negative exponent', '{"x": 5E-324}', true],
    [
      'ordinary numbers and a hex id with "7e3" in it',
      '{"uuid": "2483a75a-56a2-41f1-991b-92b1667e324a", "d": 45, "ts": 1775124045, "p": 1.5}',
      false,
    ],
    ['15 digits', '{"n": 123456789012345}', false],
  ])('%s → %s', (_name, text, expected) => {
    expect(mayHoldInexactNumber(text)).toBe(expected);
  });
});
