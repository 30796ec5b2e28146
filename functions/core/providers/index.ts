/** The provider adapters by provider type: the one entry point the ingest uses. */
import { ValidationError } from '#core/errors.ts';
import { PROVIDERS, type AdapterContext, type AdapterResult, type Provider } from '#core/types.ts';
import * as callhippo from './callhippo.ts';
import * as hipcall from './hipcall.ts';
import * as postcall from './postcall.ts';

/** A provider adapter: a pure function from one parsed webhook body to normalised events. */
export interface ProviderAdapter {
  normalise(body: unknown, ctx: AdapterContext): AdapterResult;
}

const ADAPTERS = new Map<string, ProviderAdapter>([
  ['hipcall', hipcall],
  ['callhippo', callhippo],
  ['postcall', postcall],
]);

/** The adapter of a provider type; throws ValidationError for an unknown one. */
export function adapterFor(provider: Provider): ProviderAdapter {
  const adapter = ADAPTERS.get(provider);
  if (!adapter) throw new ValidationError(`Unknown provider "${String(provider)}": use one of ${PROVIDERS.join(', ')}`);
  return adapter;
}

/** Normalise one delivery of `provider`; throws ValidationError when its identity (event type, call id) is missing. */
export function normaliseDelivery(provider: Provider, body: unknown, ctx: AdapterContext): AdapterResult {
  return adapterFor(provider).normalise(body, ctx);
}
