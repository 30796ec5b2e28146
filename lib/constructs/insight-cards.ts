import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { CallVaultConfig } from '#contract/config.ts';
import { ENV, INSIGHT_QUEUE, SECRET_KINDS, secretName } from '#contract/resources.ts';
import { stackSecretsArn } from './webhook-api.ts';
import type { CallVaultFunction } from './callvault-function.ts';
import { grantKeyUse } from './protection.ts';
import type { Storage } from './storage.ts';
import { queueWorker, type WorkerQueue } from './worker-queue.ts';

export interface InsightCardsProps {
  readonly config: CallVaultConfig;
  readonly storage: Storage;
  /** Topic the insight DLQ alarm notifies. */
  readonly alarmTopic: sns.ITopic;
  /** Memory of the worker, in MB. @default 256 */
  readonly memorySize?: number;
}

/** Name of a Hipcall source's API token secret (see webhookTokenSecretName for why it is named). */
export const hipcallApiSecretName = (stackName: string, sourceId: string): string => secretName(`${stackName}/`, sourceId, 'hipcallApi');

/** The value a Hipcall API token secret must be given after deploy. */
export const HIPCALL_API_SECRET_SHAPE = '{"token":"<your Hipcall API token>"}';

/**
 * Insight Cards: the insight queue (Hipcall `call_init` jobs) and its worker, which looks the caller up
 * in the contacts table (or the user's CRM) and posts a card to the Hipcall API. Holds one Hipcall API
 * token secret per Hipcall source; the user sets its value after deploy (the CLI command is an output).
 */
export class InsightCards extends Construct {
  public readonly worker: CallVaultFunction;
  public readonly jobs: WorkerQueue;
  /** Hipcall API token secret of each Hipcall source id: `{"token": "...", "crmAuthorization"?: "..."}`. */
  public readonly hipcallApiSecrets: ReadonlyMap<string, secretsmanager.Secret>;

  /** The secrets' customer-managed key, when protection.kms is on. */
  private readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: InsightCardsProps) {
    super(scope, id);
    this.encryptionKey = props.storage.encryptionKey;
    const secrets = new Map<string, secretsmanager.Secret>();
    for (const source of props.config.sources.filter((s) => s.provider === 'hipcall')) {
      // Generated rather than a plaintext placeholder in the template: the value is `{"token": "", "placeholder": "<random>"}`,
      // which the functions read as "no token yet" until the user puts the real one.
      const secret = new secretsmanager.Secret(this, `HipcallApiToken-${source.id}`, {
        secretName: hipcallApiSecretName(Stack.of(this).stackName, source.id),
        description: `CallVault: Hipcall API token of source "${source.id}". Set it with put-secret-value to ${HIPCALL_API_SECRET_SHAPE}`,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ token: '' }),
          generateStringKey: 'placeholder',
          excludePunctuation: true,
          passwordLength: 32,
        },
        encryptionKey: props.storage.encryptionKey,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The value is an API token issued in the Hipcall dashboard; only the user can renew it there, so it cannot be rotated by a Lambda.',
      });
      secrets.set(source.id, secret);
    }
    this.hipcallApiSecrets = secrets;

    ({ worker: this.worker, jobs: this.jobs } = queueWorker(
      this,
      'insight',
      INSIGHT_QUEUE,
      'CallVault insight: look up the caller and push an Insight Card to Hipcall',
      {
        ...props,
        encryptionKey: props.storage.encryptionKey,
      },
    ));
    // The worker claims and settles the item's `insight` (conditional UpdateItem), and reads the item only
    // when a claim is refused, to tell "another source owns this call" from "a card is already out".
    props.storage.bindCalls(this.worker, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    props.storage.bindContacts(this.worker, ['dynamodb:GetItem']);
    this.bindHipcallApiSecrets(this.worker);
  }

  /**
   * Let `fn` read the Hipcall API token secrets (GetSecretValue on this stack's `hipcall-api` secrets, by
   * name pattern) and set CALLVAULT_SECRET_PREFIX, from which the function derives each Hipcall source's name.
   */
  public bindHipcallApiSecrets(fn: CallVaultFunction): void {
    const stackName = Stack.of(this).stackName;
    if (this.hipcallApiSecrets.size > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [stackSecretsArn(this, 'hipcallApi')] }),
      );
      Validations.of(fn.executionRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${stackName}/*/${SECRET_KINDS.hipcallApi}-??????]`,
        reason:
          "Every Hipcall API token secret of this stack by its name pattern ({stack}/{source}/hipcall-api plus Secrets Manager's 6-character suffix): one statement instead of an ARN per source.",
      });
      if (this.encryptionKey) grantKeyUse(fn, this.encryptionKey, 'secretsmanager', ['kms:Decrypt']);
    }
    fn.addEnvironment(ENV.secretPrefix, `${stackName}/`);
  }
}
