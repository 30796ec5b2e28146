/**
 * The archive as a SQL table (optional, `analytics.glue`): a Glue database with one table, `calls`, over
 * the cdr/ objects; an Athena workgroup whose results go to the archive bucket; and the example queries
 * of docs/querying.md as named queries. Partition projection maps `provider` and `day` straight onto DESIGN's key
 * layout, `cdr/{provider}/{YYYY}/{MM}/{DD}/`, so no crawler or MSCK REPAIR ever runs and new days are
 * queryable as soon as their objects exist.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import { Construct } from 'constructs';
import { CDR_COLUMNS, CDR_EXAMPLE_QUERIES, CDR_PARTITIONS, CDR_TABLE, type CdrColumn } from '#core/cdr-schema.ts';
import { PROVIDERS } from '#core/types.ts';
import type { CallVaultConfig } from '#contract/config.ts';
import { PREFIX } from '#contract/resources.ts';
import type { Storage } from './storage.ts';

/** Where the workgroup writes query results, inside the archive bucket (expired after a week). */
export const ATHENA_RESULTS_PREFIX = 'athena-results/';
const RESULTS_EXPIRE_DAYS = 7;

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

    // Results hold call data: same bucket, same encryption, gone after a week.
    bucket.addLifecycleRule({
      id: 'ExpireAthenaResults',
      prefix: ATHENA_RESULTS_PREFIX,
      expiration: Duration.days(RESULTS_EXPIRE_DAYS),
      noncurrentVersionExpiration: Duration.days(1),
    });
    const key = storage.encryptionKey;
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: analytics.workGroup,
      description: 'CallVault: queries over the call archive',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${bucket.bucketName}/${ATHENA_RESULTS_PREFIX}`,
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
