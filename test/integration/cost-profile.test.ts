import { describe, expect, it } from 'vitest';
import { readProfile, recordProfile } from '#bin/cli/cost/profile.ts';

describe('the checked-in request profile (bin/cli/cost/profile.json)', () => {
  it('matches the requests the code makes for the representative call: regenerate it with "npx tsx bin/cli/cost/profile.ts" when it does not', async () => {
    const [recorded, checkedIn] = await Promise.all([recordProfile(), readProfile()]);
    expect(recorded.functions).toEqual(checkedIn.functions);
    expect(recorded.emf.metrics).toEqual(checkedIn.emf.metrics);
    // Sizes carry timestamps and ids; a few bytes either way is the same call.
    expect(Math.abs(recorded.itemBytes - checkedIn.itemBytes)).toBeLessThan(64);
  }, 120_000);
});
