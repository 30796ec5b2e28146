/**
 * Every payload in ../shared/seeds (as test/fixtures JSON), in the order a provider would send them,
 * and the item each call must end up as. Shared by the handler integration test and the local-stack e2e test.
 */
export interface SeedDelivery {
  fixture: string;
  source: 'hipcall' | 'callhippo' | 'postcall';
  /** The answer's `status`. */
  answer: 'stored' | 'archived';
}

export const SEED_DELIVERIES: SeedDelivery[] = [
  { fixture: 'hipcall/call_init.json', source: 'hipcall', answer: 'stored' }, // seed 001, call start
  { fixture: 'hipcall/call_hangup.json', source: 'hipcall', answer: 'stored' }, // seed 001, call end
  { fixture: 'hipcall/task_create.json', source: 'hipcall', answer: 'archived' }, // seed 001, task
  { fixture: 'hipcall/deal_create.json', source: 'hipcall', answer: 'archived' }, // seed 001, deal
  { fixture: 'hipcall/insight_call_init.json', source: 'hipcall', answer: 'stored' }, // seed 003
  { fixture: 'hipcall/guide_call_hangup.json', source: 'hipcall', answer: 'stored' }, // seed 000
  { fixture: 'callhippo/call_activity.json', source: 'callhippo', answer: 'stored' }, // seed 002
  { fixture: 'callhippo/sms_activity.json', source: 'callhippo', answer: 'stored' }, // seed 002
  { fixture: 'callhippo/call_status.json', source: 'callhippo', answer: 'stored' }, // seed 002
  { fixture: 'postcall/post_call.json', source: 'postcall', answer: 'stored' }, // seed 004
];

/** The fields each call's item must hold once all its seed deliveries are in (defaultCountry US). */
export const SEED_ITEMS: Record<string, Record<string, unknown>> = {
  'hipcall#2483a75a-56a2-41f1-991b-92b1667e324a': {
    provider: 'hipcall',
    source: 'hipcall',
    callId: '2483a75a-56a2-41f1-991b-92b1667e324a',
    kind: 'call',
    direction: 'outbound',
    fromNumber: '+902582440032',
    // Too short to be a real number: kept as sent.
    toNumber: '+4440333',
    customerNumber: '+4440333',
    // Hung up by the user before anyone answered (answered_at null, 0 s).
    status: 'missed',
    startedAt: '2024-11-17T10:41:00.000Z',
    endedAt: '2024-11-17T10:41:06.000Z',
    durationSec: 0,
    hangupBy: 'user',
    agent: { id: '1121' },
    day: '2024-11-17',
    version: 2,
  },
  'hipcall#call_abc123': {
    provider: 'hipcall',
    kind: 'call',
    direction: 'inbound',
    fromNumber: '+442045205757',
    toNumber: '+441234567890',
    customerNumber: '+442045205757',
    status: 'completed',
    startedAt: '2026-04-02T10:00:00.000Z',
    endedAt: '2026-04-02T10:00:45.000Z',
    durationSec: 45,
    hangupBy: 'callee',
    day: '2026-04-02',
    version: 2,
  },
  'callhippo#CA5fcabcd366fac3fe8c00c111f135e123': {
    provider: 'callhippo',
    source: 'callhippo',
    kind: 'call',
    direction: 'outbound',
    fromNumber: '+9323243432',
    toNumber: '+41232132131',
    customerNumber: '+41232132131',
    status: 'completed',
    startedAt: '2020-05-12T00:53:57.688Z',
    answeredAt: '2020-05-12T00:53:59.688Z',
    endedAt: '2020-05-12T01:01:05.688Z',
    // "08:10" as MM:SS
    durationSec: 490,
    hangupBy: 'Agent',
    agent: { email: 'test@example.com', name: 'Demo User' },
    day: '2020-05-12',
  },
  'callhippo#8956bxxxxxxxxx-xxxxxx-xxxxxx02428': {
    kind: 'call',
    direction: 'outbound',
    status: 'completed',
    agent: { id: '610xxxxxxxxxxxxxxxxxx8f3', email: 'test@example.com' },
  },
  'postcall#693bff62619c51fac21acf50': {
    provider: 'postcall',
    kind: 'call',
    status: 'completed',
    customerNumber: '+15551234567',
    caller: {
      name: 'John Smith',
      phoneNumber: '+1-555-123-4567',
      email: 'john.smith@example.com',
      city: 'New York',
      country: 'USA',
      language: 'English',
    },
    analysis: {
      summary: 'Customer called to schedule a product demo...',
      mood: 'Positive',
      score: 85,
      callOutcome: 'Demo Scheduled',
      classification: 'Sales Inquiry',
    },
  },
};

/** The CallHippo SMS has no id of its own; its item is found by kind. */
export const SEED_SMS = {
  provider: 'callhippo',
  kind: 'sms',
  direction: 'outbound',
  fromNumber: '+9323243432',
  toNumber: '+41232132131',
  startedAt: '2020-05-12T00:53:57.688Z',
};

/** Media each call's deliveries point at: queued by the ingest. */
export const SEED_MEDIA: Record<string, string[]> = {
  'hipcall#call_abc123': ['recording'],
  'callhippo#CA5fcabcd366fac3fe8c00c111f135e123': ['recording'],
  'postcall#693bff62619c51fac21acf50': ['recording', 'transcript'],
};
