import { describe, expect, it } from 'vitest';
import {
  nextInsightStep,
  type InsightAction,
  type InsightJobContext,
  type InsightSourceRules,
  type InsightStepOutcome,
  type InsightStepState,
} from '#core/insight-steps.ts';
import type { InsightJob } from '#core/types.ts';
import { match } from '#test/support/match.ts';

const T0 = Date.parse('2026-04-02T10:00:00Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const job: InsightJob = {
  provider: 'hipcall',
  source: 'hipcall',
  callId: 'c1',
  direction: 'inbound',
  fromNumber: '+442045205757',
  occurredAt: iso(0),
  receivedAt: iso(0),
};
const RULES: InsightSourceRules = {
  hipcall: true,
  enabled: true,
  staleSeconds: 20,
  card: {
    title: 'Caller',
    rows: [{ field: 'name', label: 'Name', format: 'text' }],
    currency: 'GBP',
    locale: 'en-GB',
    includeExtras: false,
  },
  baseUrl: 'https://use.hipcall.com/api/v3',
};
const jane = { phone: '+442045205757', name: 'Jane Smith' };

/** Feed outcomes at the given offsets (ms after T0); returns the actions. */
function run(
  steps: [number, InsightStepOutcome][],
  over: { rules?: Partial<InsightSourceRules>; ctx?: Partial<InsightJobContext> } = {},
): InsightAction[] {
  const ctx: InsightJobContext = { job, rules: { ...RULES, ...over.rules }, startedMs: T0, random: () => 0.5, ...over.ctx };
  let state: InsightStepState = { ctx, now: T0, attempt: 0 };
  return steps.map(([ms, outcome]) => {
    const step = nextInsightStep({ ...state, now: T0 + ms }, outcome);
    state = step.state;
    return step.action;
  });
}
const last = (actions: InsightAction[]) => actions[actions.length - 1]!;
const start: [number, InsightStepOutcome] = [0, { step: 'start' }];
const claimed = (
  lookup: { contact?: typeof jane } | { error: string } = { contact: jane },
  claim: boolean | { ownedBy: string } = true,
): [number, InsightStepOutcome] => [100, { step: 'claimed', claim, lookup: 'error' in lookup ? lookup : { contact: lookup.contact } }];
const token: [number, InsightStepOutcome] = [150, { step: 'token', token: { value: 'tok' } }];
const posted = (
  ms: number,
  result: { status: number; message?: string } | { networkError: string },
  aborted = false,
): [number, InsightStepOutcome] => [ms, { step: 'posted', result, aborted }];

describe('nextInsightStep: before the claim', () => {
  it.each([
    ['a source that is not Hipcall', { hipcall: false }, { outcome: 'skipped', reason: 'not a Hipcall source' }],
    ['a source with insight off', { enabled: false }, { outcome: 'skipped', reason: 'insight disabled' }],
  ])('skips %s', (_what, rules, result) => {
    expect(run([start], { rules })).toEqual([match.objectContaining({ action: 'finish', result })]);
  });

  it('claims a fresh job for the owning source and looks the caller up in E.164', () => {
    expect(run([start])).toEqual([{ action: 'claim', phone: '+442045205757', ownerSource: 'hipcall' }]);
  });

  it.each([
    ['the claim is written', true, { outcome: 'stale' }],
    ['another delivery settled it', false, { outcome: 'duplicate' }],
    [
      'another source owns the call',
      { ownedBy: 'hipcall-eu' },
      { outcome: 'skipped', reason: 'the call belongs to source "hipcall-eu", not "hipcall"' },
    ],
  ] as const)('records a job older than the staleness limit as stale, and when %s ends it', (_what, claim, result) => {
    const actions = run([
      [21_000, { step: 'start' }],
      [21_010, { step: 'stale-claimed', claim }],
    ]);
    expect(actions[0]).toMatchObject({ action: 'claim-stale', info: { state: 'stale' } });
    expect(last(actions)).toMatchObject({ action: 'finish', result });
  });
});

describe('nextInsightStep: after the claim and the lookup', () => {
  it.each([
    ['another delivery holds the call', claimed({ contact: jane }, false), { action: 'finish', result: { outcome: 'duplicate' } }],
    [
      'another source owns the call',
      claimed({ contact: jane }, { ownedBy: 'hipcall-eu' }),
      { action: 'finish', result: { outcome: 'skipped', reason: match.stringContaining('"hipcall-eu"') } },
    ],
    ['no contact matches', claimed({}), { action: 'settle', info: { state: 'no_match' }, extra: {} }],
    [
      'the contact has nothing to show',
      claimed({ contact: { phone: jane.phone } as typeof jane }),
      { action: 'settle', info: { state: 'no_match' }, extra: { reason: 'contact has nothing to show' } },
    ],
    [
      'the lookup failed (numbers redacted)',
      claimed({ error: 'CRM timed out for +442045205757' }),
      { action: 'settle', info: { state: 'failed', error: 'CRM timed out for [number]' } },
    ],
    ['a contact matches', claimed(), { action: 'await-token' }],
  ])('when %s', (_what, outcome, expected) => {
    expect(last(run([start, outcome]))).toMatchObject(expected);
  });

  it('settles no_match for a call with no customer number (internal)', () => {
    expect(last(run([start, claimed()], { ctx: { job: { ...job, direction: 'internal' } } }))).toMatchObject({
      action: 'settle',
      info: { state: 'no_match' },
      extra: { reason: 'no customer number' },
    });
  });

  it('says what to set when the source has no API base URL, before any post', () => {
    expect(last(run([start, claimed()], { rules: { baseUrl: undefined } }))).toMatchObject({
      action: 'settle',
      info: { state: 'failed', error: match.stringMatching(/has no hipcallApiBaseUrl: set it/) },
    });
  });

  it('records failed with the secret store message when the token cannot be read', () => {
    const actions = run([start, claimed(), [150, { step: 'token', token: { error: 'No Hipcall API token for source "hipcall"' } }]]);
    expect(last(actions)).toMatchObject({
      action: 'settle',
      info: { state: 'failed', error: 'No Hipcall API token for source "hipcall"' },
    });
  });

  it('posts the card built from the template, each attempt at most 2 s', () => {
    expect(last(run([start, claimed(), token]))).toMatchObject({
      action: 'post',
      baseUrl: RULES.baseUrl,
      timeoutMs: 2000,
      card: match.arrayContaining([match.objectContaining({ type: 'title' })]),
    });
  });
});

describe('nextInsightStep: posting', () => {
  it.each([
    [
      'a 201 settles sent',
      posted(200, { status: 201 }),
      { action: 'settle', info: { state: 'sent', httpStatus: 201 }, extra: { attempts: 1 } },
    ],
    [
      'a 400 fails at once with the API message',
      posted(200, { status: 400, message: 'bad row' }),
      { action: 'settle', info: { state: 'failed', httpStatus: 400, error: 'Insight Card API answered 400: bad row' } },
    ],
    ['a 503 waits and tries again', posted(200, { status: 503 }), { action: 'wait', ms: 75 }],
    ['a network error waits and tries again', posted(200, { networkError: 'ECONNRESET' }), { action: 'wait', ms: 75 }],
    [
      'an aborted post settles on what it got',
      posted(200, { status: 503 }, true),
      { action: 'settle', info: { state: 'failed', httpStatus: 503 } },
    ],
    [
      'a 503 with no budget left fails',
      posted(19_900, { status: 503 }),
      { action: 'settle', info: { state: 'failed', httpStatus: 503 }, extra: { attempts: 1 } },
    ],
  ])('%s', (_what, outcome, expected) => {
    expect(last(run([start, claimed(), token, outcome]))).toMatchObject(expected);
  });

  it('counts attempts across waits and settles sent on a later success', () => {
    const actions = run([start, claimed(), token, posted(200, { status: 503 }), [300, { step: 'waited' }], posted(400, { status: 201 })]);
    expect(actions[4]).toMatchObject({ action: 'post' });
    expect(last(actions)).toMatchObject({ action: 'settle', info: { state: 'sent' }, extra: { attempts: 2 } });
  });

  it.each([
    ['stale', [25_000, { step: 'token', token: { value: 'tok' } }], {}, { state: 'stale' }, { reason: 'became stale before the post' }],
    [
      'failed',
      [600, { step: 'token', token: { value: 'tok' } }],
      { deadlineMs: T0 + 500 },
      { state: 'failed', error: 'no time left to post the card' },
      {},
    ],
  ] as [string, [number, InsightStepOutcome], Partial<InsightJobContext>, object, object][])(
    'settles %s when no time is left for the first post',
    (_what, late, ctx, info, extra) => {
      expect(last(run([start, claimed(), late], { ctx }))).toMatchObject({ action: 'settle', info, extra });
    },
  );

  it("stops at the function's deadline and settles on the last answer", () => {
    const actions = run([start, claimed(), token, posted(200, { status: 500 }), [600, { step: 'waited' }]], {
      ctx: { deadlineMs: T0 + 500 },
    });
    expect(last(actions)).toMatchObject({ action: 'settle', info: { state: 'failed', httpStatus: 500 }, extra: { attempts: 1 } });
  });
});
