/**
 * S3 keys are one-to-one with call ids. Ids that sanitising or truncating alone would
 * merge (`a/b`, `a_b`, `a b`, `a#b`; `通话一` and `电话二`; two ids equal in their first 200
 * characters) each get their own recording object with their own bytes, through the real ingest and the
 * real media worker (strict AWS layer on) on the emulators.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaInfo } from '#core/types.ts';
import { startIngestHarness, type IngestHarness } from '#test/support/ingest-harness.ts';
import { sha256, startFileServer, startMediaWorker, type FileServer, type MediaWorker } from '#test/support/media-harness.ts';

const LONG = 'x'.repeat(200);
/** Ids that sanitising or truncating alone would send to one key. */
const IDS = ['a/b', 'a_b', 'a b', 'a#b', 'a.b', '通话一', '电话二', `${LONG}-first`, `${LONG}-second`];

/** A body per id that no other id's body equals (a different length too, so a mix-up shows in `bytes`). */
const bodyOf = (i: number): Buffer => Buffer.concat([Buffer.from(`recording of call ${i}\n`), Buffer.alloc(1000 + i * 37, i + 1)]);

function hangupFor(callId: string, recordUrl: string): string {
  return JSON.stringify({
    event: 'call_hangup',
    data: {
      uuid: callId,
      direction: 'inbound',
      caller_number: '+442045205757',
      callee_number: '+441234567890',
      call_duration: 45,
      started_at: '2026-04-02T10:00:00Z',
      answered_at: '2026-04-02T10:00:03Z',
      ended_at: '2026-04-02T10:00:45Z',
      record_url: recordUrl,
      user_id: 1121,
    },
  });
}

let h: IngestHarness;
let files: FileServer;
let worker: MediaWorker;

beforeAll(async () => {
  files = await startFileServer(Object.fromEntries(IDS.map((_id, i) => [`/rec/${i}.mp3`, { body: bodyOf(i), contentType: 'audio/mpeg' }])));
  h = await startIngestHarness({ sources: [{ id: 'hipcall', provider: 'hipcall' }] }, { local: { mediaDelaySeconds: 0 } });
  worker = startMediaWorker(h.emulators, h.config, { fetchAllow: [files.hostPort] });
});

afterAll(async () => {
  await worker?.stop();
  await files?.close();
  await h?.close();
});

describe('S3 keys of ids that differ only where a sanitised key would not', () => {
  it('stores each call’s recording under its own key, with the bytes and sha256 its URL served, readable where the id allows', async () => {
    for (const [i, id] of IDS.entries()) {
      const answer = await h.post('hipcall', hangupFor(id, files.url(`/rec/${i}.mp3`)));
      expect(answer, id).toMatchObject({ status: 200, json: { status: 'stored' } });
    }
    const infos: MediaInfo[] = [];
    for (const id of IDS) infos.push(await worker.settled(() => h.item(`hipcall#${id}`), 'recording'));
    await worker.drained();

    const keys = infos.map((info) => info.s3Key);
    expect(infos.map((info) => info.state)).toEqual(IDS.map(() => 'stored'));
    expect(new Set(keys).size).toBe(IDS.length);
    for (const [i, info] of infos.entries()) {
      const served = bodyOf(i);
      const stored = await worker.objectBytes(info.s3Key!);
      expect({ id: IDS[i], sha256: sha256(stored), bytes: stored.length }).toEqual({
        id: IDS[i],
        sha256: sha256(served),
        bytes: served.length,
      });
      expect(info).toMatchObject({ sha256: sha256(served), bytes: served.length });
      expect(files.hits(`/rec/${i}.mp3`)).toBe(1);
    }
    // Nothing else was written under the day's recordings: one object per call, no overwritten version.
    expect(await h.objects('recordings/hipcall/2026/04/02/')).toEqual([...keys].sort());
    expect(await worker.dlqDepth()).toBe(0);

    // Ordinary ids stay readable in the key; a changed id keeps its readable part and gains a hash of the exact id.
    const keyOf = (id: string) => keys[IDS.indexOf(id)];
    expect(keyOf('a_b')).toBe('recordings/hipcall/2026/04/02/a_b.mp3');
    expect(keyOf('a/b')).toMatch(/^recordings\/hipcall\/2026\/04\/02\/a_b~[0-9a-f]{16}\.mp3$/);
    expect(keyOf(`${LONG}-first`)).toMatch(new RegExp(`^recordings/hipcall/2026/04/02/${LONG}~[0-9a-f]{16}\\.mp3$`));
  });
});
