/** The MediaStore port: where recordings and the cdr/ JSON go (adapter: adapters/media-store.ts, S3MediaStore). */
import type { Readable } from 'node:stream';
import type { CallRecord } from '#core/types.ts';

export interface PutMediaInput {
  key: string;
  body: Readable;
  contentType: string;
  /** Object metadata (x-amz-meta-*). */
  metadata: Record<string, string>;
  /** Largest body expected. */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface StoredObject {
  key: string;
  bytes: number;
  sha256: string;
}

/** Where recordings and the cdr/ JSON go. */
export interface MediaStore {
  putStream(input: PutMediaInput): Promise<StoredObject>;
  putCallRecord(key: string, record: CallRecord, signal?: AbortSignal): Promise<void>;
}
