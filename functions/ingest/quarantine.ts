/** quarantine/: a refused delivery's bytes, verbatim, with why it was refused (nothing a provider sent is lost). */
import type { SourceConfig } from '#contract/config.ts';
import { S3_KEYS } from '#contract/resources.ts';
import { sha256Hex } from '#core/request.ts';
import type { DeliveryArchive } from '#core/ports/delivery-archive.ts';
import type { Log } from '#core/ports/log.ts';

export interface Refused {
  source: SourceConfig;
  receivedAt: string;
  body: Buffer;
  /** The body's SHA-256 (hex), when already known. */
  sha256?: string | undefined;
  /** The HTTP status the refusal answered. */
  status: number;
  reason: string;
  contentType?: string | undefined;
}

/** Keep the refused delivery in quarantine/. Throws when the archive fails. */
export function putQuarantined(archive: Pick<DeliveryArchive, 'putQuarantine'>, refused: Refused, abortSignal: AbortSignal): Promise<void> {
  const { source, receivedAt, body, status, reason, contentType } = refused;
  return archive.putQuarantine(
    S3_KEYS.quarantine(source.provider, receivedAt, refused.sha256 || sha256Hex(body)),
    { source: source.id, receivedAt, status, reason, contentType, bytes: body },
    abortSignal,
  );
}

/** The same, best effort: the refusal is answered whether or not its copy was kept (a failure is logged). */
export async function quarantine(deps: { archive: DeliveryArchive; log: Log }, refused: Refused): Promise<void> {
  try {
    await putQuarantined(deps.archive, refused, AbortSignal.timeout(1500));
  } catch (err) {
    deps.log.error('quarantine write failed', { source: refused.source.id, error: (err as Error).name });
  }
}

/** Why a delivery AWS refuses as sent is quarantined rather than replayed. */
export const unstorableMessage = (err: unknown): string =>
  `CallVault cannot store this delivery as sent (${(err as Error).name}: ${(err as Error).message.slice(0, 200)}). It is kept in quarantine; please report it so the provider adapter can be fixed.`;
