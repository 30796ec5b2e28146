/** SQS's redelivery rules as the workers need them: how far out a retry can be scheduled, and when a delivery is the last. */

/** SQS's longest visibility timeout (12 h): a retry can never be scheduled further out than this. */
export const SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/**
 * True when SQS will not deliver the message again after this failure: its receive count reaches the
 * queue's maxReceiveCount. `receivesPerDelay` is what one ChangeMessageVisibility adds to the count:
 * 0 on SQS, 1 on the local emulator (it counts the change as a receive and moves the message to the
 * DLQ when its visibility lapses at the limit), so there the delay about to be set is the last.
 */
export function isLastDelivery(receiveCount: number, maxReceiveCount: number, receivesPerDelay = 0): boolean {
  return receiveCount + receivesPerDelay >= maxReceiveCount;
}
