import { describe, expect, it } from 'vitest';
import { callsCommand, dayFlag } from '#bin/cli/calls.ts';
import { replayCommand } from '#bin/cli/archive.ts';
import { UsageError } from '#bin/cli/front.ts';
import { describeReplay, recordDiff } from '#bin/cli/replay-raw.ts';
import { daysBetween, storedMedia } from '#bin/cli/archive-reader.ts';
import type { CallRecord } from '#core/types.ts';

describe('recordDiff', () => {
  it('lists changed, added and removed attributes by name, ignoring key order inside maps', () => {
    const before = { callKey: 'hipcall#a', direction: 'outbound', agent: { id: '1', name: 'Ann' }, hangupBy: 'user' };
    const after = { callKey: 'hipcall#a', direction: 'inbound', agent: { name: 'Ann', id: '1' }, durationSec: 45 };
    expect(recordDiff(before, after)).toEqual([
      { field: 'direction', before: 'outbound', after: 'inbound' },
      { field: 'durationSec', after: 45 },
      { field: 'hangupBy', before: 'user' },
    ]);
  });

  it('leaves out what replay does not decide: media maps, insight, timestamps and version', () => {
    const before = { recording: { state: 'stored' }, insight: { state: 'sent' }, createdAt: 'a', updatedAt: 'b', version: 3 };
    expect(recordDiff(before, { version: 2, updatedAt: 'c' })).toEqual([]);
  });
});

describe('archive reader helpers', () => {
  it('lists the days of a window inclusively, across a month end', () => {
    expect(daysBetween('2026-01-30', '2026-02-02')).toEqual(['2026-01-30', '2026-01-31', '2026-02-01', '2026-02-02']);
  });

  it('offers only media that is stored with a key, recording first', () => {
    const record = {
      voicemail: { state: 'stored', s3Key: 'voicemails/x.mp3', sha256: 'ab' },
      recording: { state: 'stored', s3Key: 'recordings/x.mp3' },
      transcript: { state: 'queued' },
    } as unknown as CallRecord;
    expect(storedMedia(record).map((m) => m.media)).toEqual(['recording', 'voicemail']);
  });
});

describe('calls and replay arguments', () => {
  it("prints each subcommand's help and exits 0", async () => {
    for (const sub of ['list', 'get', 'download', 'export']) {
      const lines: string[] = [];
      expect(await callsCommand([sub, '--help'], (l) => void lines.push(l))).toBe(0);
      expect(lines.join('\n')).toContain(`callvault calls ${sub}`);
    }
  });

  it('refuses a missing or unknown subcommand as a usage mistake', async () => {
    await expect(callsCommand([], () => {})).rejects.toThrow(UsageError);
    await expect(callsCommand([], () => {})).rejects.toThrow(/Give a subcommand: list, get, download or export/);
    await expect(callsCommand(['play'], () => {})).rejects.toThrow(UsageError);
    await expect(callsCommand(['play'], () => {})).rejects.toThrow(/Unknown subcommand "calls play"/);
  });

  it('refuses a day that does not exist, and a window given backwards', async () => {
    expect(() => dayFlag('--since', '2026-02-30')).toThrow(/--since must be a day/);
    await expect(callsCommand(['export', '--since', '2026-05-02', '--until', '2026-05-01', '--out', '/tmp/x'], () => {})).rejects.toThrow(
      /after --until/,
    );
    await expect(replayCommand(['--since', '2026-05-01'], () => {})).rejects.toThrow(/--until is required/);
    await expect(replayCommand(['--since', '2026-05-01', '--until', '2026-05-01', '--unapplied'], () => {})).rejects.toThrow(
      /exactly one of/,
    );
  });
});

describe('describeReplay', () => {
  it('shows each changed call with its field changes, says a dry run wrote nothing, and sums up', () => {
    const lines = describeReplay({
      since: '2026-07-01',
      until: '2026-07-01',
      dryRun: true,
      deliveries: 3,
      calls: [
        {
          callKey: 'hipcall#a',
          outcome: 'changed',
          deliveries: 2,
          changes: [
            { field: 'direction', before: 'outbound', after: 'inbound' },
            { field: 'durationSec', after: 45 },
          ],
        },
        { callKey: 'hipcall#b', outcome: 'unchanged', deliveries: 1, changes: [] },
      ],
      summary: { unchanged: 1, changed: 1, created: 0, incomplete: 0, refused: 0, conflict: 0 },
    });
    expect(lines).toEqual([
      'hipcall#a  changed (dry run: not written)',
      '  direction: "outbound" -> "inbound"',
      '  durationSec: (none) -> 45',
      '3 deliveries from raw/ (2026-07-01..2026-07-01): 2 call(s), 1 would change, 0 would be created, 1 unchanged.',
    ]);
  });
});
