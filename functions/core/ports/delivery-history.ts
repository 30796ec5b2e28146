/** The DeliveryHistory port: when each source last delivered (adapter: adapters/delivery-history.ts, CloudWatchDeliveryHistory; locally bin/local/silence.ts). */

/** When each source last delivered. */
export interface DeliveryHistory {
  /**
   * The start of the latest minute within [since, until] in which `source` delivered (any of
   * core/silence.ts DELIVERY_METRICS), or undefined when it delivered nothing in that span.
   */
  lastDeliveryAt(source: string, since: Date, until: Date): Promise<Date | undefined>;
}
