import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import type { CallVaultConfig } from '#contract/config.ts';
import { ENV, PREFIX } from '#contract/resources.ts';
import { CallVaultFunction } from './callvault-function.ts';
import type { InsightCards } from './insight-cards.ts';
import type { Storage } from './storage.ts';
import type { WorkerQueue } from './worker-queue.ts';

export interface ReconcileProps {
  readonly config: CallVaultConfig;
  readonly storage: Storage;
  /** The media queue the backfilled recordings go on. */
  readonly mediaQueue: WorkerQueue;
  /** Holds the Hipcall API token secrets the function reads. */
  readonly insightCards: InsightCards;
}

/**
 * Scheduled reconciliation with Hipcall: one EventBridge schedule per Hipcall source that sets
 * `reconcile`, each invoking one function with `{"reconcileSource": id}`. The function pages the
 * source's calls list, writes missing calls (calls table, raw/) and queues their recordings. It may read
 * and update call items, put raw/ objects, send media jobs and read the Hipcall API tokens; nothing else.
 * Why a schedule: Hipcall never retries a failed delivery, so its gaps close only by asking.
 */
export class Reconcile extends Construct {
  public readonly function: CallVaultFunction;
  /** Source id → its schedule. */
  public readonly schedules: ReadonlyMap<string, events.Rule>;

  constructor(scope: Construct, id: string, props: ReconcileProps) {
    super(scope, id);
    const sources = props.config.sources.filter((s) => s.reconcile);
    if (sources.length === 0) throw new Error('Reconcile: no source sets "reconcile"; create this construct only when one does.');
    this.function = new CallVaultFunction(this, 'Function', {
      name: 'reconcile',
      config: props.config,
      description: 'CallVault reconcile: fill the gaps Hipcall leaves from its calls list',
      // A day of a busy account is a few thousand calls: pages, archive lookups and backfills, with 429 backoff.
      timeout: Duration.minutes(10),
      memorySize: 512,
      encryptionKey: props.storage.encryptionKey,
      asyncRetries: {
        attempts: 0,
        reason:
          'a retried 10-minute run would page the same window again, and the next scheduled run (every everyMinutes, looking back lookBackHours) covers it anyway.',
      },
    });
    // Backfill goes through CallsTable.applyDelivery (GetItem + conditional UpdateItem), the gap rule reads items.
    props.storage.bindCalls(this.function, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    // raw/ for the delivery it writes, cdr/ for the SQL row of a backfilled call without a recording.
    props.storage.bindArchive(this.function, [PREFIX.raw, PREFIX.cdr], ['s3:PutObject']);
    props.mediaQueue.bindProducer(this.function, ENV.mediaQueueUrl);
    props.insightCards.bindHipcallApiSecrets(this.function);

    const schedules = new Map<string, events.Rule>();
    for (const source of sources) {
      const rule = new events.Rule(this, `Schedule-${source.id}`, {
        description: `Reconciles CallVault source "${source.id}" with Hipcall every ${source.reconcile!.everyMinutes} minutes`,
        schedule: events.Schedule.rate(Duration.minutes(source.reconcile!.everyMinutes)),
        targets: [
          new targets.LambdaFunction(this.function, {
            event: events.RuleTargetInput.fromObject({ reconcileSource: source.id }),
            retryAttempts: 0,
          }),
        ],
      });
      Validations.of(rule).acknowledge({
        id: 'Serverless-EventBusDLQ',
        reason:
          'A missed reconcile run needs no redelivery: each run looks back over lookBackHours, which covers several runs, and a repeat is harmless.',
      });
      schedules.set(source.id, rule);
    }
    this.schedules = schedules;
  }
}
