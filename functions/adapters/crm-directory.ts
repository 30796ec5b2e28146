/**
 * The user's own CRM as the contact source of a source (`insight.crm` in config): `GET urlTemplate`
 * with `{phone}` replaced by the E.164 number, the credential in `authHeader` (its value is
 * `crmAuthorization` in the source's Hipcall API secret), a hard timeout, and a mapping from the
 * CRM's JSON to contact fields by dot path (`data.0.full_name`). A root array means its first element.
 */
import { parseAmount, parseUserId, safeLink, standardField, textOf, type Contact, type ContactField } from '#core/contact.ts';
import type { CrmAnswer, CrmDirectory, CrmSettings } from '#core/ports/crm-directory.ts';
import { apiMessage } from './hipcall-cards.ts';
import type { JsonHttp } from './json-http.ts';

/** The lookup URL for a number. */
export function crmUrl(template: string, phone: string): string {
  return template.replaceAll('{phone}', encodeURIComponent(phone));
}

/** The value at a dot path (`a.b.0.c`); undefined when any step is missing. */
export function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const step of path.split('.').filter(Boolean)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[step];
  }
  return node;
}

/** How a CRM value becomes each standard contact field. */
const FROM_CRM = {
  name: (raw) => ({ name: textOf(raw) }),
  company: (raw) => ({ company: textOf(raw) }),
  balance: (raw) => ({ balance: parseAmount(raw) ?? textOf(raw) }),
  owner: (raw) => ({ ownerUserId: parseUserId(raw) }),
  link: (raw) => ({ link: safeLink(raw) }),
} satisfies Record<Exclude<ContactField, 'phone'>, (raw: unknown) => Partial<Contact>>;

/** A contact from a CRM answer through the mapping, or undefined when no mapped field has a value. */
export function contactFromCrm(json: unknown, mapping: Record<string, string>, phone: string): Contact | undefined {
  const root: unknown = Array.isArray(json) ? json[0] : json;
  if (root === null || typeof root !== 'object') return undefined;
  const contact: Contact = { phone };
  const extras: Record<string, string> = {};
  for (const [field, path] of Object.entries(mapping)) {
    const raw = valueAt(root, path);
    if (raw === undefined || raw === null || raw === '') continue;
    const standard = standardField(field);
    // The phone is the number asked for, never the CRM's copy of it.
    if (standard === 'phone') continue;
    if (standard) Object.assign(contact, FROM_CRM[standard](raw));
    else {
      const text = textOf(raw);
      if (text !== undefined) extras[field] = text;
    }
  }
  for (const key of Object.keys(contact) as (keyof Contact)[]) if (contact[key] === undefined) delete contact[key];
  if (Object.keys(extras).length) contact.extras = extras;
  // Only the number: the CRM answered, but with nothing the mapping knows.
  return Object.keys(contact).length > 1 ? contact : undefined;
}

export class HttpCrmDirectory implements CrmDirectory {
  constructor(
    private readonly http: JsonHttp,
    /** The header value for a source's CRM, if it has one. */
    private readonly authorization: (sourceId: string, abortSignal?: AbortSignal) => Promise<string | undefined>,
  ) {}

  /** Look a number up in the source's CRM within `timeoutMs` (never more than the CRM's own timeout). */
  async find(
    sourceId: string,
    crm: CrmSettings,
    phone: string,
    options: { timeoutMs: number; abortSignal?: AbortSignal },
  ): Promise<CrmAnswer> {
    const headers: Record<string, string> = {};
    if (crm.authHeader) {
      let value: string | undefined;
      try {
        value = await this.authorization(sourceId, options.abortSignal);
      } catch (err) {
        return { outcome: 'error', message: `CRM credential: ${(err as Error).message}` };
      }
      if (!value)
        return {
          outcome: 'error',
          message: `no CRM credential for source "${sourceId}": add "crmAuthorization" to its Hipcall API secret`,
        };
      headers[crm.authHeader] = value;
    }
    const out = await this.http.send(crmUrl(crm.urlTemplate, phone), {
      method: 'GET',
      headers,
      timeoutMs: Math.min(crm.timeoutMs, options.timeoutMs),
      abortSignal: options.abortSignal,
    });
    if (!out.ok) return { outcome: 'error', message: `CRM lookup failed: ${out.networkError}` };
    const { status, json, text } = out.answer;
    if (status === 404 || status === 204) return { outcome: 'not_found', status };
    if (status < 200 || status >= 300) {
      const said = apiMessage(json, text);
      return { outcome: 'error', status, message: `CRM answered ${status}${said ? `: ${said}` : ''}` };
    }
    const contact = contactFromCrm(json, crm.mapping, phone);
    return contact ? { outcome: 'found', contact } : { outcome: 'not_found', status };
  }
}
