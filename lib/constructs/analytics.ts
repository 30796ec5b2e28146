/**
 * The archive as a SQL table (optional, `analytics.glue`): a Glue database with one table, `calls`, over
 * the cdr/ objects; an Athena workgroup whose results go to a bucket of their own; and the example
 * queries of docs/querying.md as named queries. Partition projection maps `provider` and `day` straight onto DESIGN's key
 * layout, `cdr/{provider}/{YYYY}/{MM}/{DD}/`, so no crawler or MSCK REPAIR ever runs and new days are
 * queryable as soon as their objects exist.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import { Construct } from 'constructs';
import { CDR_COLUMNS, CDR_EXAMPLE_QUERIES, CDR_PARTITIONS, CDR_TABLE, type CdrColumn } from '#core/cdr-schema.ts';
import { PROVIDERS } from '#core/types.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { PREFIX } from '#contract/resources.ts';
import type { Storage } from './storage.ts';

/** How long query results are kept: they hold call data, and are only a cache of the archive. */
export const ATHENA_RESULTS_EXPIRE_DAYS = 7;

export interface AnalyticsProps {
  readonly analytics: CallVaultConfig['analytics'];
  readonly storage: Storage;
}

/** Glue column of a schema column (Glue keeps a comment of at most 255 characters). */
const glueColumn = (c: CdrColumn): glue.CfnTable.ColumnProperty => ({ name: c.name, type: c.type, comment: c.description.slice(0, 255) });

/** The Glue table's parameters: JSON, and partition projection over DESIGN's key layout. */
export function projectionParameters(bucketName: string, since: string): Record<string, string> {
  return {
    classification: 'json',
    'projection.enabled': 'true',
    'projection.provider.type': 'enum',
    'projection.provider.values': PROVIDERS.join(','),
    'projection.day.type': 'date',
    'projection.day.format': 'yyyy/MM/dd',
    'projection.day.range': `${since.replace(/-/g, '/')},NOW`,
    'projection.day.interval': '1',
    'projection.day.interval.unit': 'DAYS',
    'storage.location.template': `s3://${bucketName}/${PREFIX.cdr}\${provider}/\${day}/`,
  };
}

export class Analytics extends Construct {
  public readonly database: glue.CfnDatabase;
  public readonly table: glue.CfnTable;
  public readonly workGroup: athena.CfnWorkGroup;
  /**
   * Where the workgroup writes query results. Not the archive bucket: its Object Lock would keep results
   * past their expiry (and in COMPLIANCE mode, from everyone), and results are no record worth locking.
   */
  public readonly resultsBucket: s3.Bucket;
  public readonly namedQueries: readonly athena.CfnNamedQuery[];

  constructor(scope: Construct, id: string, props: AnalyticsProps) {
    super(scope, id);
    const { analytics, storage } = props;
    const account = Stack.of(this).account;
    const bucket = storage.bucket;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: account,
      databaseInput: { name: analytics.database, description: 'CallVault: the call archive as SQL tables' },
    });
    this.table = new glue.CfnTable(this, 'CallsTable', {
      catalogId: account,
      databaseName: analytics.database,
      tableInput: {
        name: CDR_TABLE,
        description: 'One row per call: the cdr/ objects of the archive bucket (columns: docs/querying.md)',
        tableType: 'EXTERNAL_TABLE',
        parameters: projectionParameters(bucket.bucketName, analytics.since),
        partitionKeys: CDR_PARTITIONS.map(glueColumn),
        storageDescriptor: {
          columns: CDR_COLUMNS.map(glueColumn),
          location: `s3://${bucket.bucketName}/${PREFIX.cdr}`,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
        },
      },
    });
    this.table.addResourceDependency(this.database);

    // Results hold call data: the archive's encryption and access rules, gone after a week. Retained with
    // the stack like the archive (a bucket with results in it would fail the delete); it empties itself.
    const key = storage.encryptionKey;
    this.resultsBucket = new s3.Bucket(this, 'ResultsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      ...(key
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: key, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: storage.accessLogsBucket,
      serverAccessLogsPrefix: 'athena-results/',
      lifecycleRules: [
        { id: 'ExpireAthenaResults', expiration: Duration.days(ATHENA_RESULTS_EXPIRE_DAYS) },
        { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: analytics.workGroup,
      description: 'CallVault: queries over the call archive',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/`,
          encryptionConfiguration: key ? { encryptionOption: 'SSE_KMS', kmsKey: key.keyArn } : { encryptionOption: 'SSE_S3' },
        },
      },
    });

    this.namedQueries = CDR_EXAMPLE_QUERIES.map((q) => {
      const named = new athena.CfnNamedQuery(this, `Query-${q.name}`, {
        name: `callvault-${q.name}`,
        description: q.description,
        database: analytics.database,
        workGroup: analytics.workGroup,
        queryString: q.sql,
      });
      named.addResourceDependency(this.workGroup);
      named.addResourceDependency(this.table);
      return named;
    });
  }
}
