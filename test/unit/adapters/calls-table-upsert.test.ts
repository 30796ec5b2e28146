import { describe, expect, it } from 'vitest';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoCallsStore } from '#adapters/calls-store.ts';
import { mergeDelivery } from '#core/call-record.ts';
import { normaliseDelivery } from '#core/providers/index.ts';
import type { NormalisedEvent } from '#core/types.ts';
import { fixtureWith } from '#test/support/fixtures.ts';
import { match } from '#test/support/match.ts';

const now = '2025-06-03T12:00:00.000Z';
// upsertCommand only builds the request: no client is needed, and none is called.
const table = new DynamoCallsStore(undefined as unknown as DynamoDBDocumentClient, 'calls');

function hangupWith(patch: Record<string, unknown>): NormalisedEvent {
  const result = normaliseDelivery('hipcall', fixtureWith('hipcall/voicemail_call_hangup.json', patch, 'data'), {
    defaultCountry: 'US',
    receivedAt: now,
  });
  if (result.outcome !== 'events') throw new Error('expected a call event');
  return result.events[0] as NormalisedEvent;
}

function upsert(event: NormalisedEvent) {
  const { record } = mergeDelivery(undefined, { source: 'hipcall', event, deliveryKey: 'call_hangup#1', now });
  const command = table.upsertCommand(
    record,
    undefined,
    event.media.map((m) => m.media),
    now,
    event.rejectedMedia,
  );
  const input = command.input;
  /** The value the expression sets a media map to when the item has none yet. */
  const mapFor = (media: string): unknown => {
    const name = Object.entries(input.ExpressionAttributeNames ?? {}).find(([, v]) => v === media)?.[0];
    const placeholder = name
      ? new RegExp(`${name} = if_not_exists\\(${name}, (:\\w+)\\)`).exec(input.UpdateExpression ?? '')?.[1]
      : undefined;
    return placeholder ? input.ExpressionAttributeValues?.[placeholder] : undefined;
  };
  return { input, mapFor };
}

describe('DynamoCallsStore.upsertCommand', () => {
  it("creates a refused link's media map as rejected, with the reason, when the item has none", () => {
    const { mapFor } = upsert(hangupWith({ record_url: 'ftp://files.example.com/r.mp3' }));
    expect(mapFor('recording')).toEqual({ state: 'rejected', error: match.stringMatching(/"ftp" scheme/), attempts: 0, updatedAt: now });
    expect(mapFor('voicemail')).toMatchObject({ state: 'queued' });
  });

  it('queues rather than rejects when the same delivery also carries a fetchable link of that media', () => {
    const event = hangupWith({ record_url: 'ftp://files.example.com/r.mp3' });
    const both: NormalisedEvent = { ...event, media: [...event.media, { media: 'recording', url: 'https://files.example.com/r.mp3' }] };
    expect(upsert(both).mapFor('recording')).toMatchObject({ state: 'queued' });
  });

  it("never writes the media maps outright: a worker's state always wins", () => {
    const { input } = upsert(hangupWith({ record_url: '/relative/r.mp3' }));
    const names = input.ExpressionAttributeNames ?? {};
    for (const media of ['recording', 'voicemail']) {
      const name = Object.keys(names).find((k) => names[k] === media)!;
      expect(input.UpdateExpression).toContain(`${name} = if_not_exists(${name}, `);
      expect(input.UpdateExpression).not.toMatch(new RegExp(`${name} = :`));
    }
  });
});
