/**
 * Post-call webhooks (AI voice-agent platforms): one delivery per finished call, id `callId`, with
 * links to the recording (OGG) and transcript (JSON), the extracted caller details and an AI analysis.
 * The provider never retries, so only a missing `callId` refuses a delivery.
 */
import * as z from 'zod/mini';
import { normalisePhone } from '#core/phone.ts';
import type { AdapterContext, AdapterResult, Direction } from '#core/types.ts';
import { compact, identity, lenient, mediaOf, parseDelivery, toText } from './lenient.ts';

/** A post-call delivery: strict on `callId`, lenient on the rest. */
export const postCallSchema = z.object(
  {
    callId: identity("Post-call delivery has no callId: every post-call webhook must carry the call's callId", 'Post-call callId'),
    recordingUri: lenient.mediaLink,
    transcriptUri: lenient.mediaLink,
    callerDetails: lenient.record,
    callAnalysis: lenient.record,
    direction: lenient.text,
  },
  { error: 'Post-call delivery must be a JSON object such as {"callId": "...", "recordingUri": "...", ...}' },
);

/** The documented payload has no direction; a platform that sends one (inbound/outbound) is believed. */
const DIRECTIONS = new Map<string, Direction>([
  ['inbound', 'inbound'],
  ['outbound', 'outbound'],
]);

/** Normalise one post-call delivery. */
export function normalise(body: unknown, ctx: AdapterContext): AdapterResult {
  const call = parseDelivery(postCallSchema, body);
  const media = mediaOf([
    ['recording', call.recordingUri],
    ['transcript', call.transcriptUri],
  ]);
  return {
    outcome: 'events',
    eventType: 'post_call',
    events: [
      {
        provider: 'postcall',
        callId: call.callId,
        kind: 'post_call',
        // The payload carries no timestamp: the delivery is sent when the call completes.
        occurredAt: ctx.receivedAt,
        fields: compact({
          kind: 'call' as const,
          direction: call.direction ? DIRECTIONS.get(call.direction.toLowerCase()) : undefined,
          // The caller details describe the external party, whichever way the call went.
          customerNumber: normalisePhone(toText(call.callerDetails?.['phoneNumber']), ctx.defaultCountry),
          status: 'completed' as const,
          caller: call.callerDetails,
          analysis: call.callAnalysis,
        }),
        ...media,
      },
    ],
  };
}
