/**
 * A post-call `callAnalysis` bigger than DynamoDB's 400 KB item, through the ingest with the strict
 * layer on: AWS would refuse the item, so the analysis goes to extras/ and the item keeps a pointer.
 * Its write to extras/ must be a call the ingest role allows.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memorySink } from '#bin/aws-fidelity/aws-contract.ts';
import { fixture, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';
import { checkPermissions, synthTemplate } from '#test/support/permissions-contract.ts';
import { match } from '#test/support/match.ts';

describe('ingest: an analysis too big for a DynamoDB item', () => {
  let h: IngestHarness;
  const sink = memorySink();
  beforeAll(async () => {
    h = await startIngestHarness({ sources: [{ id: 'postcall', provider: 'postcall' }] }, { calls: sink });
  });
  afterAll(async () => h?.close());

  it('stores the call with a pointer, the 450 KB analysis readable in extras/, written as the ingest role allows', async () => {
    const delivery = JSON.parse(fixture('postcall/post_call.json')) as Record<string, unknown> & { callAnalysis: Record<string, unknown> };
    delivery.callId = 'oversized-analysis';
    delivery.callAnalysis = { ...delivery.callAnalysis, summary: 's'.repeat(450 * 1024) };

    const res = await h.post('postcall', JSON.stringify(delivery));
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('stored');

    const item = await h.item('postcall#oversized-analysis');
    const pointer = item?.analysis as { s3Key: string; bytes: number; sha256: string; oversized: boolean };
    expect(pointer).toMatchObject({ oversized: true, s3Key: match.stringMatching(/^extras\/postcall\//) });
    const stored = await h.object(pointer.s3Key);
    expect(JSON.parse(stored)).toEqual(delivery.callAnalysis);
    expect(createHash('sha256').update(stored, 'utf8').digest('hex')).toBe(pointer.sha256);

    expect(sink.calls).toContainEqual(
      match.objectContaining({ fn: 'ingest', action: 's3:PutObject', resource: `callvault-archive/${pointer.s3Key}`, ok: true }),
    );
    expect(checkPermissions(synthTemplate(), sink.calls).violations).toEqual([]);
  }, 60_000);
});
