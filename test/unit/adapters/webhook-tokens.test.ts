import { describe, expect, it } from 'vitest';
import { parseTokenSecret, tokensMatch } from '#adapters/webhook-tokens.ts';
import { StaticWebhookTokens } from '#bin/local/local-secrets.ts';

describe('webhook tokens', () => {
  const current = 'a'.repeat(64);
  const previous = 'b'.repeat(64);

  it('accepts the current and the previous token during a rotation', () => {
    const valid = parseTokenSecret(JSON.stringify({ current, previous }));
    expect(valid).toEqual([current, previous]);
    expect(tokensMatch(current, valid)).toBe(true);
    expect(tokensMatch(previous, valid)).toBe(true);
  });

  it('refuses other tokens, prefixes, longer strings and empty ones', () => {
    const valid = [current];
    for (const t of ['', 'a', current.slice(0, 63), current + 'a', current.toUpperCase(), previous])
      expect(tokensMatch(t, valid)).toBe(false);
  });

  it('ignores short or missing values in the secret, so an empty secret accepts nothing', () => {
    expect(parseTokenSecret(JSON.stringify({ current: '', previous: null }))).toEqual([]);
    expect(parseTokenSecret('{}')).toEqual([]);
    expect(parseTokenSecret('short')).toEqual([]);
    expect(parseTokenSecret('x'.repeat(32))).toEqual(['x'.repeat(32)]);
  });

  it('local mode accepts its one token for every source', async () => {
    const tokens = new StaticWebhookTokens('dev-token');
    expect(await tokens.verify('hipcall', 'dev-token')).toBe(true);
    expect(await tokens.verify('callhippo', 'dev-token')).toBe(true);
    expect(await tokens.verify('hipcall', 'dev-tokeN')).toBe(false);
  });
});
