/**
 * The cdr/ object for a call: its flat SQL row (core/cdr-schema.ts) on one line, since Athena's JSON SerDe
 * reads one object per line. The row's `day` is the key's, so the file agrees with its partition.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { cdrRow } from '#core/cdr-schema.ts';
import type { CallRecord } from '#core/types.ts';

export function putCdrCommand(bucket: string, key: string, record: CallRecord): PutObjectCommand {
  const day = /^cdr\/[^/]+\/(\d{4}\/\d{2}\/\d{2})\//.exec(key)?.[1];
  return new PutObjectCommand({
    Bucket: bucket,
    Key: key,
    Body: `${JSON.stringify(cdrRow(record, day))}\n`,
    ContentType: 'application/json',
  });
}
