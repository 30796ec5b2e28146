import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { CallVaultConfig } from '#contract/config.ts';

/** The services CallVault's data key encrypts for; a grant names one, so the key is usable only through it. */
export type KeyService = 'dynamodb' | 's3' | 'sqs' | 'secretsmanager';

/** KMS actions a function may be granted on the data key (explicit, never a wildcard). */
export type KeyAction = 'kms:Decrypt' | 'kms:DescribeKey' | 'kms:Encrypt' | 'kms:GenerateDataKey';

/** Function log retention when `protection.logRetentionDays` is not set. */
export const DEFAULT_FUNCTION_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
/** API access log retention when `protection.logRetentionDays` is not set. */
export const DEFAULT_ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS;

export interface DataKeyProps {
  /** Alias of the key, with or without `alias/`. @default - no alias */
  readonly alias?: string;
}

/**
 * The customer-managed key of `protection.kms`: rotated yearly and retained when the stack is deleted
 * (data encrypted under a deleted key is lost for good). Its policy lets CloudWatch Logs of this account
 * and region use it for log groups, and no one else beyond the account's IAM policies.
 */
export class DataKey extends Construct {
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: DataKeyProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      description: 'CallVault data key: archive bucket, tables, queues, secrets and log groups',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
      alias: props.alias,
    });
    // CloudWatch Logs calls KMS as itself, not as the writer: it needs the key policy, scoped by the
    // encryption context to this account's log groups in this region.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsOfThisAccount',
        // The regional Logs principal ends in the partition's suffix (amazonaws.com.cn in China).
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.${stack.urlSuffix}`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
  }
}

/** The data key `protection.kms` asks for, created under `scope` as `DataKey`, or undefined when it is off. */
export function dataKeyFor(scope: Construct, protection: CallVaultConfig['protection']): kms.Key | undefined {
  if (protection.kms === false) return undefined;
  const alias = protection.kms === true ? undefined : protection.kms.alias;
  return new DataKey(scope, 'DataKey', { alias }).key;
}

/**
 * Let `fn` use `key` for `actions`, but only through `service` in this region (kms:ViaService): the role
 * can read what the service decrypts for it, never decrypt a ciphertext directly.
 */
export function grantKeyUse(fn: lambda.Function, key: kms.IKey, service: KeyService, actions: readonly KeyAction[]): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [...actions],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `${service}.${Stack.of(fn).region}.${Stack.of(fn).urlSuffix}` } },
    }),
  );
}

/** The retention of a log group: `protection.logRetentionDays` when set, else `fallback`. */
export function logRetentionFor(protection: CallVaultConfig['protection'], fallback: logs.RetentionDays): logs.RetentionDays {
  return (protection.logRetentionDays as logs.RetentionDays | undefined) ?? fallback;
}
