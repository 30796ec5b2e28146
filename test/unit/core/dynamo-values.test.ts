import { createHash } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { deliveryKey, mergeDelivery } from '#core/call-record.ts';
import {
  DYNAMO_MAX_ITEM_BYTES,
  EXTRAS_MAX_INLINE_BYTES,
  MAX_TEXT_FIELD_CHARS,
  fitFields,
  fitForDynamo,
  isExtrasPointer,
  itemSizeBytes,
  splitOversized,
} from '#core/dynamo-values.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import { parseJsonExact, readBody } from '#core/request.ts';
import type { AdapterContext, NormalisedEvent } from '#core/types.ts';
import { S3_KEYS } from '#contract/resources.ts';
import { fixtureText } from '#test/support/fixtures.ts';
import { match } from '#test/support/match.ts';

const ctx: AdapterContext = { defaultCountry: 'US', receivedAt: '2030-01-01T00:00:00.000Z' };

/** The post-call fixture's text with `patch` spliced in as raw JSON text (so numbers keep their exact source form). */
function postCallText(patch: Record<string, string>): string {
  const text = fixtureText('postcall/post_call.json').trim();
  const extra = Object.entries(patch)
    .map(([key, raw]) => `${JSON.stringify(key)}: ${raw}`)
    .join(',\n  ');
  return `${text.slice(0, -1).trimEnd()},\n  ${extra}\n}`;
}

/** readBody, the post-call adapter and the merge, as the ingest runs them. */
function ingest(text: string) {
  const body = readBody({ body: text, contentType: 'application/json', maxBytes: 4 * 1024 * 1024 });
  if (!body.ok) throw new Error(body.refusal.message);
  const result = normaliseDelivery('postcall', body.json, ctx);
  if (result.outcome !== 'events') throw new Error('expected a call event');
  const event = result.events[0] as NormalisedEvent;
  const split = splitOversized(event.fields, (field, sha) => S3_KEYS.extras('postcall', ctx.receivedAt, event.callId, field, sha));
  const { record } = mergeDelivery(undefined, {
    source: 'postcall',
    event: { ...event, fields: split.fields },
    deliveryKey: deliveryKey('post_call', body.sha256),
    now: ctx.receivedAt,
  });
  return { json: body.json, event, record, extras: split.extras };
}

/** Every string in a value, keys included. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => [key, ...strings(item)]);
}

describe('parseJsonExact', () => {
  it.each([
    ['an integer above 2^53 (nanosecond timestamp)', '1737367200123456789', '1737367200123456789'],
    ['2^53 + 1', '9007199254740993', '9007199254740993'],
    ["1e200, beyond DynamoDB's range", '1e200', '1e200'],
    ["5e-324, below DynamoDB's smallest number", '5e-324', '5e-324'],
    ['a decimal with more digits than a double keeps', '0.10000000000000000000001', '0.10000000000000000000001'],
    ['1e20, exact but beyond what lib-dynamodb marshals', '1E20', '1E20'],
  ])('keeps %s as its exact source text', (_name, source, expected) => {
    expect(parseJsonExact(`{"n": ${source}}`)).toEqual({ n: expected });
  });

  it.each([
    ['85', 85],
    ['-12.5', -12.5],
    ['1.0', 1],
    ['0.1', 0.1],
    ['9007199254740991', 9007199254740991],
    ['1.5e-7', 1.5e-7],
    ['0', 0],
  ])('keeps %s as a number', (source, expected) => {
    expect(parseJsonExact(`[${source}]`)).toEqual([expected]);
  });
});

describe('fitForDynamo', () => {
  it('makes strings well-formed, in values and in keys', () => {
    expect(fitForDynamo({ ['k\uD800']: 'a\uDC00b' })).toEqual({ 'k\uFFFD': 'a\uFFFDb' });
  });

  it('turns numbers DynamoDB cannot hold into strings and drops what JSON cannot carry', () => {
    expect(fitForDynamo({ big: 2 ** 60, huge: 1e200, tiny: 5e-324, ok: 42.5, nan: Number.NaN, nil: null, list: [Infinity, 1] })).toEqual({
      big: '1152921504606847000',
      huge: '1e+200',
      tiny: '5e-324',
      ok: 42.5,
      list: [1],
    });
  });

  it('renames an empty map key: DynamoDB refuses empty attribute names', () => {
    expect(fitForDynamo({ '': 1, a: { '': 'x' } })).toEqual({ '(empty key)': 1, a: { '(empty key)': 'x' } });
  });
});

describe('fitFields', () => {
  it('keeps a phone number as customerNumber, the index key', () => {
    expect(fitFields({ customerNumber: '+14155552671' })).toEqual({ customerNumber: '+14155552671' });
    expect(fitFields({ customerNumber: '1001' })).toEqual({ customerNumber: '1001' });
  });

  it('keeps what is not a phone number as customerNumberAsSent, outside the index', () => {
    expect(fitFields({ customerNumber: 'anonymous' })).toEqual({ customerNumberAsSent: 'anonymous' });
    expect(fitFields({ customerNumber: '1'.repeat(33) })).toEqual({ customerNumberAsSent: '1'.repeat(33) });
  });

  it('caps scalar text without splitting a surrogate pair', () => {
    const long = `${'x'.repeat(MAX_TEXT_FIELD_CHARS - 1)}😀tail`;
    const fitted = fitFields({ fromNumber: long, agent: { name: long } });
    expect(fitted.fromNumber).toBe('x'.repeat(MAX_TEXT_FIELD_CHARS - 1));
    expect(fitted.agent?.name).toBe('x'.repeat(MAX_TEXT_FIELD_CHARS - 1));
  });

  it('drops a durationSec DynamoDB cannot hold', () => {
    expect(fitFields({ durationSec: 1e300, status: 'completed' })).toEqual({ status: 'completed' });
  });
});

describe('splitOversized', () => {
  const keyOf = (field: string, sha: string) => `extras/postcall/2030/01/01/c/${field}-${sha.slice(0, 16)}.json`;

  it('leaves extras within the threshold on the item', () => {
    const fields = { caller: { name: 'John' }, analysis: { score: 85 } };
    expect(splitOversized(fields, keyOf)).toEqual({ fields, extras: [] });
  });

  it('replaces an oversized extra with a pointer and returns the object to write', () => {
    const analysis = { transcript: 'y'.repeat(EXTRAS_MAX_INLINE_BYTES) };
    const { fields, extras } = splitOversized({ caller: { name: 'John' }, analysis }, keyOf);
    const body = JSON.stringify(analysis);
    const sha256 = createHash('sha256').update(body).digest('hex');
    expect(fields).toEqual({
      caller: { name: 'John' },
      analysis: { s3Key: keyOf('analysis', sha256), bytes: Buffer.byteLength(body), sha256, oversized: true },
    });
    expect(extras).toEqual([{ key: keyOf('analysis', sha256), body }]);
    expect(isExtrasPointer(fields.analysis)).toBe(true);
    // A pointer is never split again (a replayed, already-split event).
    expect(splitOversized(fields, keyOf).extras).toEqual([]);
  });
});

describe('itemSizeBytes', () => {
  it('counts names and values as DynamoDB does', () => {
    expect(itemSizeBytes({ a: 'xy' })).toBe(3);
    expect(itemSizeBytes({ é: 'é' })).toBe(4);
    expect(itemSizeBytes({ n: 12345 })).toBe(1 + 4);
    expect(itemSizeBytes({ b: true, z: null })).toBe(4);
    expect(itemSizeBytes({ m: { k: 'v' } })).toBe(1 + 3 + 1 + 1 + 1);
    expect(itemSizeBytes({ l: ['ab', 'c'] })).toBe(1 + 3 + (1 + 2) + (1 + 1));
  });
});

describe('a post-call delivery DynamoDB would refuse as sent', () => {
  it('keeps nanosecond timestamps in callAnalysis as exact strings', () => {
    const { record } = ingest(postCallText({ callAnalysis: '{"startedNs": 1737367200123456789, "score": 85}' }));
    expect(record.analysis).toEqual({ startedNs: '1737367200123456789', score: 85 });
  });

  it('keeps 1e200 and 5e-324 as strings', () => {
    const { record } = ingest(postCallText({ callAnalysis: '{"huge": 1e200, "tiny": 5e-324}' }));
    expect(record.analysis).toEqual({ huge: '1e200', tiny: '5e-324' });
  });

  it('replaces lone surrogates in provider extras', () => {
    const { record } = ingest(postCallText({ callerDetails: '{"name": "Jo\\ud800hn", "\\udc00key": "v"}' }));
    expect(record.caller).toEqual({ name: 'Jo\uFFFDhn', '\uFFFDkey': 'v' });
  });

  it('keeps a 3,000-character phone number off the customer index', () => {
    const phone = '5'.repeat(3000);
    const { record } = ingest(postCallText({ callerDetails: JSON.stringify({ phoneNumber: phone }) }));
    expect(record).not.toHaveProperty('customerNumber');
    expect(record.customerNumberAsSent).toBe(phone.slice(0, MAX_TEXT_FIELD_CHARS));
  });

  it('moves a 450 KB callAnalysis to S3 and keeps the item under 400 KB', () => {
    const analysis = { summary: 's'.repeat(450 * 1024), score: 85 };
    const { record, extras, event } = ingest(postCallText({ callAnalysis: JSON.stringify(analysis) }));
    // Without the split the item would not fit: the test can fail.
    expect(itemSizeBytes({ ...record, analysis: event.fields.analysis })).toBeGreaterThan(DYNAMO_MAX_ITEM_BYTES);
    expect(itemSizeBytes(record)).toBeLessThan(DYNAMO_MAX_ITEM_BYTES);
    expect(extras).toHaveLength(1);
    expect(extras[0]!.key).toMatch(/^extras\/postcall\/2030\/01\/01\/693bff62619c51fac21acf50\/analysis-[0-9a-f]{16}\.json$/);
    expect(JSON.parse(extras[0]!.body)).toEqual(analysis);
    expect(record.analysis).toEqual({
      s3Key: extras[0]!.key,
      bytes: Buffer.byteLength(extras[0]!.body),
      sha256: match.stringMatching(/^[0-9a-f]{64}$/),
      oversized: true,
    });
  });

  it('yields an item lib-dynamodb marshals and DynamoDB accepts when every hazard comes at once', () => {
    const { record } = ingest(
      postCallText({
        callAnalysis: `{"ns": 1737367200123456789, "huge": 1e200, "tiny": 5e-324, "text": "\\ud83d", "blob": "${'b'.repeat(450 * 1024)}"}`,
        callerDetails: `{"phoneNumber": "${'5'.repeat(3000)}", "": "\\udfff"}`,
      }),
    );
    // marshall() throws on numbers beyond 2^53 (lib-dynamodb's check), the service on the rest.
    expect(() => marshall(record)).not.toThrow();
    expect(itemSizeBytes(record)).toBeLessThan(DYNAMO_MAX_ITEM_BYTES);
    expect(strings(record).every((s) => s.isWellFormed())).toBe(true);
    expect(strings(record)).not.toContain('');
  });
});
