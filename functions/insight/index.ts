/** The insight Lambda's entry (what CDK bundles): dependencies built once per cold start, then the handler. */
import { insightDeps } from './deps.ts';
import { createInsightHandler } from './handler.ts';

export const handler = createInsightHandler(insightDeps());
