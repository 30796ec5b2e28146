/** The archive bucket's raw/ and quarantine/ writes: every delivery lands in one of them, verbatim. */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DeliveryArchive, QuarantineEntry, RawMeta } from '#core/ports/delivery-archive.ts';
import type { CallRecord } from '#core/types.ts';
import { putCdrCommand } from './cdr-object.ts';

export class S3DeliveryArchive implements DeliveryArchive {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /** Store an accepted delivery's body exactly as received. */
  async putRaw(key: string, bytes: Buffer, meta: RawMeta, abortSignal?: AbortSignal): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentType: 'application/json',
        Metadata: { source: meta.source, 'received-at': meta.receivedAt, 'sent-content-type': (meta.contentType ?? '').slice(0, 200) },
      }),
      { abortSignal },
    );
  }

  /** Write the call record to cdr/ (adapters/cdr-object.ts). */
  async putCallRecord(key: string, record: CallRecord, abortSignal?: AbortSignal): Promise<void> {
    await this.s3.send(putCdrCommand(this.bucket, key, record), { abortSignal });
  }

  /** Store a refused delivery with the reason, so nothing a provider sent is lost. */
  async putQuarantine(key: string, entry: QuarantineEntry, abortSignal?: AbortSignal): Promise<void> {
    const text = entry.bytes.toString('utf8');
    const isText = Buffer.from(text, 'utf8').equals(entry.bytes);
    const document = {
      source: entry.source,
      receivedAt: entry.receivedAt,
      status: entry.status,
      reason: entry.reason,
      contentType: entry.contentType ?? null,
      ...(isText ? { body: text } : { bodyBase64: entry.bytes.toString('base64') }),
    };
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(document), ContentType: 'application/json' }),
      { abortSignal },
    );
  }

  async getBytes(key: string, abortSignal?: AbortSignal): Promise<Buffer> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal });
    return Buffer.from(await res.Body!.transformToByteArray());
  }
}
