/** The ingest Lambda's entry (what CDK bundles): dependencies built once per cold start, then the handler. */
import { ingestDeps } from './deps.ts';
import { createIngestHandler } from './handler.ts';

export const handler = createIngestHandler(ingestDeps());
