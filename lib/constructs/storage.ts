import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { CallVaultConfig } from '#contract/config.ts';
import { CALLS_TABLE, CONTACTS_TABLE, ENV, PREFIX, type KeyAttribute, type TableDefinition } from '#contract/resources.ts';
import { dataKeyFor, grantKeyUse, type KeyAction } from './protection.ts';

/** Item-level DynamoDB actions a function may be granted on a table (never Scan or DeleteItem). */
export type TableAction = 'dynamodb:GetItem' | 'dynamodb:PutItem' | 'dynamodb:UpdateItem';

/** Object-level S3 actions a function may be granted on archive prefixes. */
export type ObjectAction = 's3:PutObject' | 's3:GetObject' | 's3:AbortMultipartUpload';

/** A top-level prefix of the archive bucket, e.g. `raw/`. */
export type ArchivePrefix = (typeof PREFIX)[keyof typeof PREFIX];

/** Prefixes whose objects move to cheaper storage classes as they age (config.retention). */
const TIERED_PREFIXES: readonly ArchivePrefix[] = [PREFIX.recordings, PREFIX.voicemails, PREFIX.transcripts];

/** The calls table's TTL attribute (epoch seconds), set by the ingest merge when `protection.itemTtlDays` is. */
export const CALLS_TTL_ATTRIBUTE = 'expiresAt';

const S3_ACCESS_LOGS_USE_BUCKET_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';

export interface StorageProps {
  /** Retention settings drive the archive bucket's lifecycle rules. */
  readonly retention: CallVaultConfig['retention'];
  /** Days a version stays after it is overwritten or deleted. @default 30 */
  readonly noncurrentVersionExpirationDays?: number;
  /** Days the S3 server access logs are kept. @default 365 */
  readonly accessLogExpirationDays?: number;
  /** Data protection options (KMS key, Object Lock, expiry, item TTL). @default - all off */
  readonly protection?: CallVaultConfig['protection'];
}

const attribute = (key: KeyAttribute): dynamodb.Attribute => ({
  name: key.name,
  type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

/**
 * The stateful heart of CallVault: the calls and contacts tables and the archive bucket, all retained
 * when the stack is deleted. Functions get access through the `bind*` methods, which grant exactly the
 * named actions AND set the environment variable the handler reads, so the two cannot drift.
 */
export class Storage extends Construct {
  /** The calls table (`callKey`, indexes byCustomerNumber and byDay). */
  public readonly callsTable: dynamodb.Table;
  /** The contacts table (`phone`, E.164). */
  public readonly contactsTable: dynamodb.Table;
  /** The archive bucket: recordings, voicemails, transcripts, cdr, raw, quarantine and extras prefixes. */
  public readonly bucket: s3.Bucket;
  /** Where the archive bucket's server access logs go. */
  public readonly accessLogsBucket: s3.Bucket;
  /**
   * The customer-managed key of `protection.kms`, for every construct that stores data; the `bind*`
   * methods grant its use with the data access.
   * @default - none: AWS-managed encryption everywhere
   */
  public readonly encryptionKey?: kms.Key;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    // Grant log delivery through a bucket policy instead of the legacy LogDeliveryWrite ACL, so both
    // buckets can disable ACLs (BucketOwnerEnforced). cdk.json sets the flag too; set here as well so the
    // construct keeps this behaviour in an app (or a test) whose context lacks it.
    this.node.setContext(S3_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const protection = props.protection ?? { kms: false };
    this.encryptionKey = dataKeyFor(this, protection);
    this.callsTable = this.table(CALLS_TABLE, protection.itemTtlDays ? CALLS_TTL_ATTRIBUTE : undefined);
    this.contactsTable = this.table(CONTACTS_TABLE);

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // Server access log delivery supports SSE-S3 only.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(props.accessLogExpirationDays ?? 365) }],
    });

    const lock = protection.objectLock;
    this.bucket = new s3.Bucket(this, 'ArchiveBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // By default SSE-S3: no per-request KMS charge on multi-GB multipart media uploads and no key policy
      // to keep. With protection.kms, SSE-KMS with a bucket key, which keeps KMS requests to a few per object.
      ...(this.encryptionKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: this.encryptionKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      enforceSSL: true,
      versioned: true,
      ...(lock
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention:
              lock.mode === 'COMPLIANCE'
                ? s3.ObjectLockRetention.compliance(Duration.days(lock.days))
                : s3.ObjectLockRetention.governance(Duration.days(lock.days)),
          }
        : {}),
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'archive/',
      lifecycleRules: archiveLifecycleRules(props.retention, props.noncurrentVersionExpirationDays ?? 30, protection.recordingsExpireDays),
    });
  }

  /** Grant `actions` on the calls table (the table only, not its indexes) and set CALLS_TABLE. */
  public bindCalls(fn: lambda.Function, actions: readonly TableAction[]): void {
    this.bindTable(fn, this.callsTable, ENV.callsTable, actions);
  }

  /** Grant `actions` on the contacts table and set CONTACTS_TABLE. */
  public bindContacts(fn: lambda.Function, actions: readonly TableAction[]): void {
    this.bindTable(fn, this.contactsTable, ENV.contactsTable, actions);
  }

  /**
   * Grant object `actions` on `prefixes` of the archive bucket only (no bucket-level action, no other
   * prefix) and set ARCHIVE_BUCKET.
   */
  public bindArchive(fn: lambda.Function, prefixes: readonly ArchivePrefix[], actions: readonly ObjectAction[]): void {
    if (prefixes.length === 0 || actions.length === 0)
      throw new Error(`bindArchive(${fn.node.id}) needs at least one prefix and one action.`);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [...actions],
        resources: prefixes.map((prefix) => this.bucket.arnForObjects(`${prefix}*`)),
      }),
    );
    if (this.encryptionKey) {
      // A multipart upload reads its own parts back (kms:Decrypt) to complete.
      const keyActions = new Set<KeyAction>();
      if (actions.includes('s3:PutObject')) keyActions.add('kms:GenerateDataKey').add('kms:Decrypt');
      if (actions.includes('s3:GetObject')) keyActions.add('kms:Decrypt');
      if (keyActions.size > 0) grantKeyUse(fn, this.encryptionKey, 's3', [...keyActions]);
    }
    fn.addEnvironment(ENV.bucket, this.bucket.bucketName);
    // The object ARNs end in `prefix/*` by nature; acknowledge exactly those findings, nothing broader.
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    if (fn.role) {
      Validations.of(fn.role).acknowledge(
        ...prefixes.map((prefix) => ({
          id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
          reason: `Object actions are scoped to the ${prefix} prefix of the archive bucket, the narrowest S3 scope for keys created at run time.`,
        })),
      );
    }
  }

  private bindTable(fn: lambda.Function, table: dynamodb.Table, envName: string, actions: readonly TableAction[]): void {
    if (actions.length === 0) throw new Error(`Binding ${fn.node.id} to ${table.node.id} needs at least one action.`);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...actions], resources: [table.tableArn] }));
    if (this.encryptionKey) {
      const writes = actions.some((a) => a !== 'dynamodb:GetItem');
      grantKeyUse(
        fn,
        this.encryptionKey,
        'dynamodb',
        writes ? ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt', 'kms:DescribeKey'],
      );
    }
    fn.addEnvironment(envName, table.tableName);
  }

  private table(definition: TableDefinition, timeToLiveAttribute?: string): dynamodb.Table {
    const table = new dynamodb.Table(this, definition.name, {
      partitionKey: attribute(definition.partitionKey),
      sortKey: definition.sortKey ? attribute(definition.sortKey) : undefined,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      ...(this.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: this.encryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      timeToLiveAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of definition.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey ? attribute(index.sortKey) : undefined,
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }
}

/** Lifecycle of the archive bucket from config.retention (validated in functions/contract/config.ts). */
export function archiveLifecycleRules(
  retention: CallVaultConfig['retention'],
  noncurrentVersionExpirationDays: number,
  recordingsExpireDays?: number,
): s3.LifecycleRule[] {
  const { recordingsInfrequentAccessDays: iaDays, recordingsGlacierDays: glacierDays, rawExpireDays } = retention;
  const transitions: s3.Transition[] = [
    ...(iaDays > 0 ? [{ storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(iaDays) }] : []),
    ...(glacierDays > 0 ? [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(glacierDays) }] : []),
  ];
  const rules: s3.LifecycleRule[] = [
    // Whole bucket: a media worker that dies mid-upload leaves no billable parts behind.
    { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    {
      id: 'ExpireNoncurrentVersions',
      noncurrentVersionExpiration: Duration.days(noncurrentVersionExpirationDays),
      expiredObjectDeleteMarker: true,
    },
  ];
  if (transitions.length > 0) {
    for (const prefix of TIERED_PREFIXES) rules.push({ id: `Tier-${prefix.slice(0, -1)}`, prefix, transitions });
  }
  if (recordingsExpireDays !== undefined) {
    // Deletion rules mean gone: once expired, the old version goes a day later, not after the bucket-wide 30 days.
    for (const prefix of TIERED_PREFIXES) {
      rules.push({
        id: `Expire-${prefix.slice(0, -1)}`,
        prefix,
        expiration: Duration.days(recordingsExpireDays),
        noncurrentVersionExpiration: Duration.days(1),
      });
    }
  }
  if (rawExpireDays > 0) rules.push({ id: 'ExpireRaw', prefix: PREFIX.raw, expiration: Duration.days(rawExpireDays) });
  // extras/ holds the oversized caller/analysis values an item points to: part of the record, so it is
  // neither expired (unlike raw/, a copy) nor tiered (small JSON would cost more in Standard-IA).
  return rules;
}
