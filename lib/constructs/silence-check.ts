import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { CallVaultConfig } from '#contract/config.ts';
import { CallVaultFunction } from './callvault-function.ts';

export interface SilenceCheckProps {
  readonly config: CallVaultConfig;
  /** Customer-managed key for the function's log group (protection.kms). @default - none */
  readonly encryptionKey?: kms.IKey;
  /** How often the check runs. @default 5 minutes */
  readonly every?: Duration;
}

/**
 * Silence detection: every few minutes a small function reads each watched source's delivery metrics
 * (`silence` in the source's config) and publishes `SourceSilent` 1 or 0; Monitoring.watchSilence alarms
 * on it. A scheduled check rather than metric math, because metric math cannot express "working hours in
 * a time zone with daylight saving".
 */
export class SilenceCheck extends Construct {
  public readonly function: CallVaultFunction;
  public readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: SilenceCheckProps) {
    super(scope, id);
    this.function = new CallVaultFunction(this, 'Function', {
      name: 'silence',
      config: props.config,
      description: 'CallVault silence check: has a source gone quiet inside its working hours?',
      timeout: Duration.seconds(60),
      memorySize: 256,
      encryptionKey: props.encryptionKey,
      asyncRetries: {
        attempts: 0,
        reason: 'the next run, 5 minutes later, checks the same window again; a retry would only publish a late verdict.',
      },
    });
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    Validations.of(this.function.executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'cloudwatch:GetMetricData supports no resource-level permissions; AWS requires "*". The function only reads metrics.',
    });
    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Runs the CallVault silence check',
      schedule: events.Schedule.rate(props.every ?? Duration.minutes(5)),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
    Validations.of(this.schedule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'A missed run of a 5-minute check needs no redelivery: the next run checks the same window again, and the alarm treats missing data as not breaching.',
    });
  }
}
