/** The DeliveryArchive port: raw/, quarantine/ and cdr/ in the archive bucket (adapter: adapters/delivery-archive.ts, S3DeliveryArchive). */
import type { CallRecord } from '#core/types.ts';

export interface RawMeta {
  source: string;
  receivedAt: string;
  contentType?: string;
}

export interface QuarantineEntry extends RawMeta {
  status: number;
  reason: string;
  bytes: Buffer;
}

/** raw/ and quarantine/: every delivery lands in one of them, verbatim. */
export interface DeliveryArchive {
  putRaw(key: string, bytes: Buffer, meta: RawMeta, abortSignal?: AbortSignal): Promise<void>;
  putQuarantine(key: string, entry: QuarantineEntry, abortSignal?: AbortSignal): Promise<void>;
  getBytes(key: string, abortSignal?: AbortSignal): Promise<Buffer>;
  /** The call's cdr/ object, for a call that ended with no media (the media worker writes the others). */
  putCallRecord(key: string, record: CallRecord, abortSignal?: AbortSignal): Promise<void>;
}
