/**
 * Who may deliver: the source the route names, the token in its URL and the addresses it allows. For a
 * source that sets `signature` its secret is read meanwhile; the signature is checked once the body is
 * read (signature.ts). Each refusal is its answer.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { sourceById, type CallVaultConfig, type SourceConfig } from '#contract/config.ts';
import type { DeliveryArchive } from '#core/ports/delivery-archive.ts';
import type { Log } from '#core/ports/log.ts';
import type { SigningSecret, SigningSecrets } from '#core/ports/signing-secrets.ts';
import type { WebhookTokens } from '#core/ports/webhook-tokens.ts';
import { ipAllowed } from '#core/source-ip.ts';
import { json, notFound, type Answer } from './answers.ts';

export interface AuthenticateDeps {
  config: CallVaultConfig;
  tokens: WebhookTokens;
  /** The secrets of sources that set `signature`; without it such a source refuses every POST (401). */
  signingSecrets?: SigningSecrets;
  archive: DeliveryArchive;
  /** Log fields only: never bodies, tokens, phone numbers or URLs. */
  log: Log;
}

/** A per-source route key, `POST /webhooks/hipcall/{token}`: the source is a literal segment, not a path parameter. */
const LITERAL_SOURCE_ROUTE = /^[A-Z]+ \/webhooks\/([a-z0-9-]+)\/\{token\}$/;

/**
 * The source a request was routed for: the `{source}` parameter of the generic route, else the
 * literal segment of the source's own route (each source has one, for its own throttle).
 */
export function routeSourceId(event: Pick<APIGatewayProxyEventV2, 'pathParameters' | 'routeKey'>): string {
  return event.pathParameters?.source ?? LITERAL_SOURCE_ROUTE.exec(event.routeKey ?? '')?.[1] ?? '';
}

/** A signing secret read, settled so an early answer (a wrong token) leaves no rejection unhandled. */
export type SecretRead = { ok: true; value: SigningSecret } | { ok: false; error: Error };

export type Authenticated = { ok: true; source: SourceConfig; signing?: Promise<SecretRead> } | { ok: false; answer: Answer };

/** The request's source, once its token and address are checked (and, for a signing source, its secret being read). */
export async function authenticate(deps: AuthenticateDeps, event: APIGatewayProxyEventV2, method: string): Promise<Authenticated> {
  const sourceId = routeSourceId(event);
  const source = sourceById(deps.config, sourceId);
  // Read alongside the token check: on a cold start both wait on Secrets Manager, within one 3 s budget.
  const signing = source?.signature ? readSigningSecret(deps, source.id) : undefined;
  try {
    // The token store gets a slice of the 3 s budget of its own (a cold start reads Secrets Manager).
    if (!source || !(await deps.tokens.verify(source.id, event.pathParameters?.token ?? '', AbortSignal.timeout(800)))) {
      deps.log.warn('webhook refused: unknown source or token', { method });
      return { ok: false, answer: notFound() };
    }
  } catch (err) {
    // The token store is down: answering 5xx lets the provider know to retry, if it ever does.
    deps.log.error('token check failed', { source: sourceId, error: (err as Error).name });
    return {
      ok: false,
      answer: json(503, {
        message: 'CallVault could not check the webhook token right now; the delivery was not accepted. Retry shortly.',
      }),
    };
  }
  if (source.allowedSourceIps && !ipAllowed(event.requestContext?.http?.sourceIp ?? '', source.allowedSourceIps)) {
    deps.log.warn('webhook refused: source address not allowed', { source: source.id });
    return {
      ok: false,
      answer: json(403, {
        message: 'This address may not deliver to this source. Add it to allowedSourceIps in the callvault config if it should.',
      }),
    };
  }
  return { ok: true, source, ...(signing ? { signing } : {}) };
}

function readSigningSecret(deps: Pick<AuthenticateDeps, 'signingSecrets'>, sourceId: string): Promise<SecretRead> {
  if (!deps.signingSecrets)
    return Promise.resolve({
      ok: true,
      value: { unset: `This CallVault cannot read signing secrets, but source "${sourceId}" requires a signature: redeploy the stack.` },
    });
  return deps.signingSecrets.get(sourceId, AbortSignal.timeout(800)).then(
    (value): SecretRead => ({ ok: true, value }),
    (error: unknown): SecretRead => ({ ok: false, error: error as Error }),
  );
}
