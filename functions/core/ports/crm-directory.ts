/** The CrmDirectory port: the user's own CRM (adapter: adapters/crm-directory.ts, HttpCrmDirectory). */
import type { Contact } from '#core/contact.ts';

/** A source's CRM settings (`insight.crm` in the config). */
export interface CrmSettings {
  urlTemplate: string;
  authHeader?: string | undefined;
  timeoutMs: number;
  mapping: Record<string, string>;
}

export type CrmAnswer =
  | { outcome: 'found'; contact: Contact }
  | { outcome: 'not_found'; status?: number }
  /** `status` is absent for a network failure or timeout. */
  | { outcome: 'error'; status?: number; message: string };

/** The user's own CRM over HTTP. */
export interface CrmDirectory {
  find(sourceId: string, crm: CrmSettings, phone: string, options: { timeoutMs: number; abortSignal?: AbortSignal }): Promise<CrmAnswer>;
}
