import { describe, expect, it } from 'vitest';
import { KEY_PART_MAX_CHARS, PREFIX, S3_KEYS, safeKeyPart } from '#contract/resources.ts';
import { MAX_CALL_ID_BYTES } from '#core/providers/index.ts';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('safeKeyPart', () => {
  it.each(['7f1c2b9e-3d4a-4e5b-8c6d-0a1b2c3d4e5f', 'CA7d3e9b1f0c2a4e6b8d0f2a4c6e8b0d13', 'call_abc.123', 'x'.repeat(KEY_PART_MAX_CHARS)])(
    'uses the ordinary id %s as is',
    (id) => {
      expect(safeKeyPart(id)).toBe(id);
    },
  );

  it.each([
    ['a slash', 'a/b', 'a_b'],
    ['a space', 'a b', 'a_b'],
    ['a hash', 'a#b', 'a_b'],
    ['a CJK character', '通话一', '电话二'],
    ['a leading dot', '.a', '_a'],
    ['a path segment', '..', '_.'],
  ])('gives ids differing only in %s different key parts', (_name, a, b) => {
    expect(safeKeyPart(a)).not.toBe(safeKeyPart(b));
  });

  it('never gives a sanitised id the key part of an ordinary id', () => {
    // "a_b" is ordinary; "a b" sanitises to the same letters, so the hash suffix must tell them apart.
    expect(safeKeyPart('a_b')).toBe('a_b');
    expect(safeKeyPart('a b')).toMatch(/^a_b~[0-9a-f]{16}$/);
    expect(safeKeyPart('a/b')).toMatch(/^a_b~[0-9a-f]{16}$/);
    expect(safeKeyPart('a/b')).not.toBe(safeKeyPart('a b'));
  });

  it('tells apart ids that differ only past 200 characters, and keeps the part short', () => {
    const base = 'x'.repeat(KEY_PART_MAX_CHARS);
    const a = safeKeyPart(`${base}a`);
    const b = safeKeyPart(`${base}b`);
    expect(a).not.toBe(b);
    expect(a.startsWith(base)).toBe(true);
    expect(a.length).toBe(KEY_PART_MAX_CHARS + 17);
  });

  it('never lets a part start with a dot or contain a slash', () => {
    for (const id of ['.', '..', '../../etc', '.hidden', 'a/../b']) {
      const part = safeKeyPart(id);
      expect(part.startsWith('.')).toBe(false);
      expect(part).not.toContain('/');
    }
  });
});

describe('S3_KEYS', () => {
  const at = '2030-01-01T00:00:00.000Z';
  const sha = 'ab'.repeat(32);

  it('keeps every key within 1,024 bytes for a maximum-length id of multi-byte characters', () => {
    const longest = '通'.repeat(Math.floor(MAX_CALL_ID_BYTES / 3));
    const keys = [
      S3_KEYS.media('transcript', 'callhippo', at, longest, 'json'),
      S3_KEYS.cdr('callhippo', at, longest),
      S3_KEYS.raw('callhippo', at, longest, at, `call_activity-${sha.slice(0, 16)}`),
      S3_KEYS.quarantine('callhippo', at, sha),
      S3_KEYS.extras('callhippo', at, longest, 'analysis', sha),
    ];
    for (const key of keys) expect(bytes(key)).toBeLessThanOrEqual(1024);
    expect(Math.max(...keys.map(bytes))).toBeLessThan(400);
  });

  it('keeps the readable timestamps of raw and quarantine keys', () => {
    expect(S3_KEYS.raw('hipcall', at, 'abc', at, 'call_init-0123456789abcdef')).toBe(
      'raw/hipcall/2030/01/01/abc/2030-01-01T00_00_00.000Z-call_init-0123456789abcdef.json',
    );
    expect(S3_KEYS.quarantine('hipcall', at, sha)).toBe(`quarantine/hipcall/2030/01/01/2030-01-01T00_00_00.000Z-${sha}.json`);
  });

  it('names an oversized extra by provider, day, call, field and content hash', () => {
    expect(PREFIX.extras).toBe('extras/');
    expect(S3_KEYS.extras('postcall', '2025-01-20T10:00:00Z', '693bff62619c51fac21acf50', 'analysis', sha)).toBe(
      `extras/postcall/2025/01/20/693bff62619c51fac21acf50/analysis-${sha.slice(0, 16)}.json`,
    );
  });
});
