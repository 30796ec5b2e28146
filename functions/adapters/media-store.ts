/**
 * The archive bucket's media and cdr/ writes. A media body is streamed through a SHA-256 hash and a
 * byte counter into a multipart upload (@aws-sdk/lib-storage), so memory stays flat whatever the size:
 * about `partSize x (queueSize + 1)` of live buffers.
 *
 * lib-storage keeps every incoming chunk until a part is full (aws/aws-sdk-js-v3#8286: on Node 24 a
 * stream that arrives in small pieces can make Upload hold many times `partSize`, because each retained
 * piece can be a small view pinning a much larger buffer). HashingChunker lets through only chunks that
 * pin little more than their own bytes and copies the rest, so what Upload retains is what it uploads.
 *
 * Any failure aborts the multipart upload: no parts are left open (the bucket's lifecycle rule is only
 * the safety net).
 */
import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { AbortMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { putCdrCommand } from './cdr-object.ts';
import { RetryableError } from '#core/errors.ts';
import type { MediaStore, PutMediaInput, StoredObject } from '#core/ports/media-store.ts';
import type { CallRecord } from '#core/types.ts';

/** S3's minimum part size is 5 MiB; 8 MiB parts keep memory small and still allow 78 GiB files. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** Parts uploaded at once. Two keep S3 busy while the next part fills; each costs one part of memory. */
export const DEFAULT_QUEUE_SIZE = 2;
/** Size of the buffers small pieces are copied into before lib-storage sees them (under glibc's 128 KiB mmap threshold). */
export const RECHUNK_SIZE = 64 * 1024;
const MAX_PARTS = 10_000;

/** S3 failed while storing (not the media host): worth another attempt. */
export class StorageError extends RetryableError {
  readonly code = 'MEDIA_STORAGE';
}

export interface S3MediaStoreOptions {
  partSize?: number;
  queueSize?: number;
  /**
   * Manage V8's memory as parts go by, when `gc` is exposed (Lambda's Node.js runtime starts node with
   * --expose-gc; elsewhere this does nothing): a scavenge after each part, and a memory-reducing full GC
   * every PARTS_PER_FULL_GC parts. The socket and part buffers lib-storage drops are small young objects
   * holding large external buffers, which V8 reclaims late, and over a long stream it grows the young
   * generation to its limit; both made a 1 GiB upload peak 15-20 MiB above a 50 MiB one (bench/media.ts).
   * Cost: about a millisecond per part plus a few per 128 MiB.
   * @default true
   */
  collectGarbage?: boolean;
}

/** V8's gc() as --expose-gc installs it. */
type ExposedGc = (options: { type: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => unknown;
const exposedGc = (globalThis as { gc?: ExposedGc }).gc;
/** A memory-reducing full GC every this many parts (128 MiB of 8 MiB parts). */
export const PARTS_PER_FULL_GC = 16;

function collectAfterPart(part: number): void {
  try {
    exposedGc?.(part % PARTS_PER_FULL_GC === 0 ? { type: 'major', execution: 'sync', flavor: 'last-resort' } : { type: 'minor' });
  } catch {
    // Only an optimisation.
  }
}

/**
 * Hashes and counts the bytes that pass, and makes sure nothing downstream pins much more memory than
 * the bytes it holds: a chunk that is (nearly) its own buffer passes through as is (socket reads of a
 * plain body are); any other chunk, a view onto a larger buffer (one HTTP chunk of a chunked body, a
 * slice of a pooled slab), is copied into unpooled buffers of `chunkSize`, and the larger buffer can go.
 */
export class HashingChunker extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private current: Buffer | null = null;
  private used = 0;
  bytes = 0;

  constructor(private readonly chunkSize = RECHUNK_SIZE) {
    super({ readableHighWaterMark: chunkSize });
  }

  /** True when retaining `chunk` retains little more than its own bytes. */
  private static standalone(chunk: Buffer): boolean {
    return chunk.length >= 4096 && chunk.buffer.byteLength <= chunk.length + (chunk.length >> 2);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (HashingChunker.standalone(chunk)) {
      this.flushCurrent();
      this.push(chunk);
      return callback();
    }
    let offset = 0;
    while (offset < chunk.length) {
      this.current ??= Buffer.allocUnsafeSlow(this.chunkSize);
      const n = chunk.copy(this.current, this.used, offset, Math.min(chunk.length, offset + this.chunkSize - this.used));
      this.used += n;
      offset += n;
      if (this.used === this.chunkSize) {
        this.push(this.current);
        this.current = null;
        this.used = 0;
      }
    }
    callback();
  }

  /** Emit what the current buffer holds: as is when mostly full, else as an exact copy (and keep the buffer). */
  private flushCurrent(): void {
    if (!this.current || !this.used) return;
    if (this.used >= this.chunkSize >> 1) {
      this.push(this.current.subarray(0, this.used));
      this.current = null;
    } else {
      const exact = Buffer.allocUnsafeSlow(this.used);
      this.current.copy(exact, 0, 0, this.used);
      this.push(exact);
    }
    this.used = 0;
  }

  override _flush(callback: TransformCallback): void {
    this.flushCurrent();
    this.current = null;
    callback();
  }

  /** Hex SHA-256 of everything that passed (call once, after the end). */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Object metadata values must be printable ASCII; keep them short. */
function safeMetadata(meta: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta))
    out[k.toLowerCase().replace(/[^a-z0-9-]/g, '-')] = v.replace(/[^\x20-\x7e]/g, '_').slice(0, 256);
  return out;
}

export class S3MediaStore implements MediaStore {
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly collectGarbage: boolean;
  /**
   * Uploads whose abort failed (S3 was unreachable): aborted before and after the next stream this
   * instance stores, which in practice is the job's own retry, once S3 answers again.
   */
  private readonly leftovers = new Map<string, string>();

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    options: S3MediaStoreOptions = {},
  ) {
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.collectGarbage = options.collectGarbage ?? true;
  }

  /**
   * Stream `body` into `key`, hashing and counting on the way. Rejects with the body's own error (the
   * media host failed), or StorageError (S3 failed); either way no multipart upload is left open.
   */
  async putStream(input: PutMediaInput): Promise<StoredObject> {
    await this.abortLeftovers();
    const chunker = new HashingChunker();
    let sourceError: Error | undefined;
    const source = pipeline(input.body, chunker, (err) => {
      if (err) sourceError ??= err;
    });
    const partSize = Math.max(this.partSize, Math.ceil((input.maxBytes ?? 0) / MAX_PARTS));
    const upload = new Upload({
      client: this.s3,
      partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
      params: {
        Bucket: this.bucket,
        Key: input.key,
        Body: source,
        ContentType: input.contentType,
        Metadata: safeMetadata(input.metadata),
      },
    });
    // On abort (the worker's deadline) fail the source: Upload then aborts the multipart upload itself
    // before done() settles. Upload.abort() would settle done() at once and abort in the background.
    let partsDone = 0;
    const onAbort = () =>
      source.destroy(Object.assign(new Error('the download was stopped: the worker ran out of time'), { name: 'TimeoutError' }));
    input.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (input.signal?.aborted) onAbort();
      if (this.collectGarbage && exposedGc) upload.on('httpUploadProgress', () => collectAfterPart(++partsDone));
      await upload.done();
      if (sourceError) throw sourceError;
      // S3 answers again; a leftover whose abort failed at the start of this stream (the SDK's retries
      // carried this upload past the outage) would otherwise wait for the next job, or the lifecycle rule.
      await this.abortLeftovers();
      return { key: input.key, bytes: chunker.bytes, sha256: chunker.digest() };
    } catch (err) {
      // Read before destroying: destroying the source reports a premature close of its own.
      const fromSource = sourceError;
      source.destroy();
      await this.abortLeftover(upload);
      if (fromSource) throw fromSource;
      throw new StorageError(`storing ${input.key} failed: ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
    } finally {
      input.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Upload aborts on failure, but if that AbortMultipartUpload itself failed, try once more here. */
  private async abortLeftover(upload: Upload): Promise<void> {
    // lib-storage keeps these private; read them defensively (the bucket's lifecycle rule is the net).
    const state = upload as unknown as { uploadId?: string; abortMultipartUploadCommand?: unknown };
    if (!state.uploadId || state.abortMultipartUploadCommand === null) return;
    const key = (upload as unknown as { params: { Key: string } }).params.Key;
    if (!(await this.abort(key, state.uploadId))) this.leftovers.set(state.uploadId, key);
  }

  /** Abort the uploads an earlier failure could not; those that fail again stay for the next time. */
  private async abortLeftovers(): Promise<void> {
    for (const [uploadId, key] of [...this.leftovers]) if (await this.abort(key, uploadId)) this.leftovers.delete(uploadId);
  }

  /** True when the upload is gone (aborted now, or already). */
  private async abort(key: string, uploadId: string): Promise<boolean> {
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
      return true;
    } catch (err) {
      // The bucket's lifecycle rule aborts what is never retried here (the instance ends) after a day.
      return (err as Error).name === 'NoSuchUpload';
    }
  }

  /** Write the call record to cdr/ (adapters/cdr-object.ts). */
  async putCallRecord(key: string, record: CallRecord, signal?: AbortSignal): Promise<void> {
    await this.s3.send(putCdrCommand(this.bucket, key, record), { abortSignal: signal });
  }
}
