/** Which source a request is for, whichever webhook route API Gateway matched. */
import { describe, expect, it } from 'vitest';
import { routeSourceId } from '#functions/ingest/authenticate.ts';

describe('routeSourceId', () => {
  it('reads the {source} parameter of the generic route (unknown sources, and the local stack)', () => {
    expect(routeSourceId({ routeKey: 'POST /webhooks/{source}/{token}', pathParameters: { source: 'callhippo', token: 't' } })).toBe(
      'callhippo',
    );
  });

  it("reads the literal segment of a source's own route, which has no source parameter", () => {
    for (const method of ['POST', 'GET', 'HEAD']) {
      expect(routeSourceId({ routeKey: `${method} /webhooks/hipcall-eu/{token}`, pathParameters: { token: 't' } }), method).toBe(
        'hipcall-eu',
      );
    }
  });

  it('finds no source in any other route key, so the request is refused as an unknown source', () => {
    for (const routeKey of [
      '$default',
      'POST /webhooks/{token}',
      'POST /other/hipcall/{token}',
      'POST /webhooks/Hip.call/{token}',
      'POST /webhooks/hipcall/{token}/x',
    ]) {
      expect(routeSourceId({ routeKey, pathParameters: { token: 't' } }), routeKey).toBe('');
    }
    expect(routeSourceId({ routeKey: 'POST /webhooks/hipcall/{token}', pathParameters: undefined })).toBe('hipcall');
  });
});
