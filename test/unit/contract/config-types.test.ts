/** The zod-free config the functions read agrees with the schema the stack validates with. */
import { describe, expect, it } from 'vitest';
import { insightSchema, parseConfig } from '#contract/config-schema.ts';
import { DEFAULT_INSIGHT, DEFAULT_MEDIA_DELAY, insightOf, sourceById } from '#contract/config.ts';

describe('the config types and helpers the functions use', () => {
  it("gives a source without insight settings exactly the schema's defaults", () => {
    expect(insightSchema.parse({})).toEqual(DEFAULT_INSIGHT);
    const config = parseConfig({ sources: [{ id: 'a', provider: 'hipcall' }] });
    expect(insightOf(config.sources[0]!)).toEqual(insightSchema.parse({}));
  });

  it("keeps a source's own insight settings, and finds sources by id", () => {
    const config = parseConfig({
      sources: [
        { id: 'a', provider: 'hipcall', insight: { staleSeconds: 5 } },
        { id: 'b', provider: 'callhippo' },
      ],
    });
    expect(insightOf(sourceById(config, 'a')!).staleSeconds).toBe(5);
    expect(sourceById(config, 'b')?.mediaDelaySeconds).toBe(DEFAULT_MEDIA_DELAY.callhippo);
    expect(sourceById(config, 'c')).toBeUndefined();
  });
});
