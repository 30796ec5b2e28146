/** The reconcile function's Lambda entry (what CDK bundles): dependencies built once per cold start, then the handler. */
import { reconcileDeps } from './deps.ts';
import { createReconcileHandler } from './handler.ts';

export const handler = createReconcileHandler(reconcileDeps());
