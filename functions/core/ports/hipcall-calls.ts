/** The HipcallCalls port: Hipcall's calls API as reconciliation asks it (adapter: adapters/hipcall-calls.ts, HipcallCallsClient). */
import type { ReconcileWindow } from '#core/reconcile.ts';

/** What Hipcall's calls API offers a reconcile run (the adapter pages, authenticates and backs off). */
export interface HipcallCalls {
  /** Pages of raw call objects started in [since, until]. */
  list(sourceId: string, window: ReconcileWindow, signal?: AbortSignal): AsyncIterable<unknown[]>;
  /** The call as `GET /calls/{uuid}` answers it (with a fresh `record_url`), or undefined when Hipcall does not know it. */
  get(sourceId: string, uuid: string, signal?: AbortSignal): Promise<Record<string, unknown> | undefined>;
}
