/**
 * The deployed token path: each source's webhook token read from its own Secrets Manager secret
 * (a local stand-in; no emulator has Secrets Manager), under the strict layer, so the contract sees the
 * ingest read exactly the secrets its role names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memorySink } from '#bin/aws-fidelity/aws-contract.ts';
import { startFakeSecretsManager, type FakeSecretsManager } from '#test/support/fake-secrets-manager.ts';
import { fixture, hipcallHangup, startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';
import { checkPermissions, synthTemplate } from '#test/support/permissions-contract.ts';

/** The secrets as the stack names them, and as the ingest derives their names from CALLVAULT_SECRET_PREFIX. */
const nameOf = (source: string) => `CallVault/${source}/webhook`;
const SOURCES = ['hipcall', 'callhippo', 'postcall'] as const;
const tokenOf = (source: string) => `${source}-token-0123456789abcdef0123456789abcdef`;

describe('ingest: webhook tokens from Secrets Manager', () => {
  let h: IngestHarness;
  let sm: FakeSecretsManager;
  const sink = memorySink();
  beforeAll(async () => {
    sm = await startFakeSecretsManager(
      Object.fromEntries(
        SOURCES.map((s) => [
          nameOf(s),
          JSON.stringify(
            s === 'postcall' ? { current: tokenOf(s), previous: 'old-postcall-token-0123456789abcdef' } : { current: tokenOf(s) },
          ),
        ]),
      ),
    );
    h = await startIngestHarness(
      { sources: SOURCES.map((id) => ({ id, provider: id })) },
      // As deployed: the prefix only, every name derived from it and the config.
      { secretsManager: { endpoint: sm.endpoint, secretPrefix: 'CallVault/' }, calls: sink },
    );
  });
  afterAll(async () => {
    await h?.close();
    await sm?.close();
  });

  it("accepts each source's own token, refuses another source's, and reads only the secrets the ingest role names", async () => {
    const bodies = {
      hipcall: hipcallHangup('secret-token-call'),
      callhippo: fixture('callhippo/call_activity.json'),
      postcall: fixture('postcall/post_call.json'),
    };
    for (const source of SOURCES) {
      expect((await h.post(source, bodies[source], { token: tokenOf(source) })).status, source).toBe(200);
    }
    // A token is a source's own: hipcall's does not open callhippo's URL (404, as for any unknown URL).
    expect((await h.post('callhippo', bodies.callhippo, { token: tokenOf('hipcall') })).status).toBe(404);
    // During a rotation the previous token still works.
    expect((await h.post('postcall', bodies.postcall, { token: 'old-postcall-token-0123456789abcdef' })).status).toBe(200);

    expect(new Set(sm.reads)).toEqual(new Set(SOURCES.map(nameOf)));
    const reads = sink.calls.filter((c) => c.action === 'secretsmanager:GetSecretValue');
    expect(new Set(reads.map((c) => c.resource))).toEqual(new Set(SOURCES.map(nameOf)));
    expect(checkPermissions(synthTemplate(), sink.calls).violations).toEqual([]);
  }, 60_000);
});
