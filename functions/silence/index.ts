/** The silence check's Lambda entry (what CDK bundles): dependencies built once per cold start, then the handler. */
import { silenceDeps } from './deps.ts';
import { createSilenceHandler } from './handler.ts';

export const handler = createSilenceHandler(silenceDeps());
