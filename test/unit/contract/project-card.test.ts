import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { insightOf, sourceById } from '#contract/config.ts';
import { parseConfig } from '#contract/config-schema.ts';
import { buildCard } from '#core/card.ts';

describe("the project's own config (cdk.json), which npm start and the demo run", () => {
  it("shows the demo contact's balance on the card in the default country's money (GB: pounds)", () => {
    const cdk = JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8')) as { context: { callvault: unknown } };
    const config = parseConfig(cdk.context.callvault);
    expect(config.defaultCountry).toBe('GB');
    const card = buildCard({ phone: '+442045205757', name: 'Jane Smith', balance: 4250 }, insightOf(sourceById(config, 'hipcall')!).card);
    expect(card).toContainEqual({ type: 'shortText', label: 'Balance', text: '£4,250.00' });
  });
});
