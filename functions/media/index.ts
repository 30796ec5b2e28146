/** The media Lambda's entry (what CDK bundles): dependencies built once per cold start, then the handler. */
import { mediaDeps } from './deps.ts';
import { createMediaHandler } from './handler.ts';

export const handler = createMediaHandler(mediaDeps());
