import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readProfile, recordProfile, type RequestProfile } from '#bin/cli/cost/profile.ts';

const counts = (p: RequestProfile) => ({ functions: p.functions, metrics: p.emf.metrics });

describe('the checked-in request profile (bin/cli/cost/profile.json)', () => {
  it('matches the requests the code makes for the representative call: regenerate it with "npx tsx bin/cli/cost/profile.ts" when it does not', async () => {
    const checkedIn = await readProfile();
    let recorded = await recordProfile();
    // A busy machine can make one conditional write lose a race once; changed code differs every time.
    if (!isDeepStrictEqual(counts(recorded), counts(checkedIn))) recorded = await recordProfile();
    expect(counts(recorded)).toEqual(counts(checkedIn));
    // Sizes carry timestamps and ids; a few bytes either way is the same call.
    expect(Math.abs(recorded.itemBytes - checkedIn.itemBytes)).toBeLessThan(64);
    expect(recorded.storedBytesByPrefix['recordings/']).toBe(checkedIn.storedBytesByPrefix['recordings/']);
  }, 240_000);
});
