import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { CallVaultConfig } from '#contract/config.ts';
import { ENV, INSIGHT_QUEUE } from '#contract/resources.ts';
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
export const hipcallApiSecretName = (stackName: string, sourceId: string): string => `${stackName}/${sourceId}/hipcall-api`;

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
   * Let `fn` read the Hipcall API token secrets (GetSecretValue on exactly those ARNs) and set
   * HIPCALL_API_SECRETS (`{sourceId: secretName}`: names, not ARNs, to keep Lambda's 4 KB environment).
   */
  public bindHipcallApiSecrets(fn: lambda.Function): void {
    if (this.hipcallApiSecrets.size > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [...this.hipcallApiSecrets.values()].map((s) => s.secretArn),
        }),
      );
      if (this.encryptionKey) grantKeyUse(fn, this.encryptionKey, 'secretsmanager', ['kms:Decrypt']);
    }
    const stackName = Stack.of(this).stackName;
    fn.addEnvironment(
      ENV.hipcallApiSecrets,
      JSON.stringify(Object.fromEntries([...this.hipcallApiSecrets.keys()].map((id) => [id, hipcallApiSecretName(stackName, id)]))),
    );
  }
}
