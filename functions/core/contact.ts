/**
 * A contact: what the Insight Card shows about a caller. Stored in the contacts table keyed by the
 * E.164 number (attribute names below are the table's), imported from CSV, or mapped from the
 * user's own CRM. Pure value rules shared by the CSV import and the CRM mapping live here.
 */

export interface Contact {
  /** E.164, the contacts table key. */
  phone: string;
  name?: string;
  company?: string;
  /** An amount (formatted as money on the card) or, from a CRM that sends something else, text shown as is. */
  balance?: number | string;
  /** The account owner's Hipcall user id: shown as a `user` row. */
  ownerUserId?: number;
  /** An http(s) link to the contact in the user's CRM. */
  link?: string;
  /** Any other columns: label → value, shown as extra rows. */
  extras?: Record<string, string>;
}

/** Contact field names a card template row or a CRM mapping may name (anything else is an extra). */
export const CONTACT_FIELDS = ['phone', 'name', 'company', 'balance', 'owner', 'link'] as const;
export type ContactField = (typeof CONTACT_FIELDS)[number];

const FIELD_ALIASES: Record<string, ContactField> = {
  phone: 'phone',
  name: 'name',
  company: 'company',
  balance: 'balance',
  owner: 'owner',
  owner_user_id: 'owner',
  owneruserid: 'owner',
  link: 'link',
};

/** The standard field a name refers to (`owner_user_id` and `ownerUserId` are `owner`), or undefined for an extra. */
export function standardField(name: string): ContactField | undefined {
  const key = name.trim().toLowerCase();
  // Own keys only: `constructor` must be an extra, not Object.prototype.constructor.
  return Object.hasOwn(FIELD_ALIASES, key) ? FIELD_ALIASES[key] : undefined;
}

/** Where each standard field's value is on a contact. */
const STANDARD_VALUES: Record<ContactField, (c: Contact) => string | number | undefined> = {
  phone: (c) => c.phone,
  name: (c) => c.name,
  company: (c) => c.company,
  balance: (c) => c.balance,
  owner: (c) => c.ownerUserId,
  link: (c) => c.link,
};

/** The value of a named field of a contact (standard field or extra; extras match case-insensitively). */
export function contactField(contact: Contact, field: string): string | number | undefined {
  const standard = standardField(field);
  if (standard) return STANDARD_VALUES[standard](contact);
  const extras = contact.extras ?? {};
  if (Object.hasOwn(extras, field)) return extras[field];
  const lower = field.toLowerCase();
  const key = Object.keys(extras).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : extras[key];
}

/**
 * An amount written by a person or a CRM: `4250`, `4,250.00`, `-12.5`, `$4,250.00`, `£ 12`. Thousands
 * separators must be commas and the decimal mark a dot, so `4.250,00` is refused rather than misread.
 */
export function parseAmount(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  let s = raw.replace(/[\s\u00a0_]/g, '');
  let sign = '';
  if (/^[-+]/.test(s)) [sign, s] = [s[0] === '-' ? '-' : '', s.slice(1)];
  s = s.replace(/^(?:[$£€¥₺₹]|[A-Z]{3})/, '');
  if (!sign && /^[-+]/.test(s)) [sign, s] = [s[0] === '-' ? '-' : '', s.slice(1)];
  if (!/^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$/.test(s)) return undefined;
  const n = Number(sign + s.replace(/,/g, ''));
  return Number.isFinite(n) ? n : undefined;
}

/** A Hipcall user id: a positive whole number (as a number or digits). */
export function parseUserId(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw > 0 ? raw : undefined;
  if (typeof raw !== 'string' || !/^\s*\d{1,15}\s*$/.test(raw)) return undefined;
  const n = Number(raw.trim());
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** The link if it is an absolute http(s) URL, else undefined (a card link must open in a browser). */
export function safeLink(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || !raw.trim()) return undefined;
  const text = raw.trim();
  try {
    const url = new URL(text);
    // As written (not url.href), so the link the user typed is the link the agent opens.
    return (url.protocol === 'https:' || url.protocol === 'http:') && !/\s/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Text for a card: strings trimmed, finite numbers and booleans as written; anything else undefined. */
export function textOf(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw.trim() || undefined;
  if (typeof raw === 'number') return Number.isFinite(raw) ? String(raw) : undefined;
  if (typeof raw === 'boolean') return String(raw);
  return undefined;
}

/** True when the contact has something to show besides its number. */
export function hasDetails(contact: Contact): boolean {
  return Boolean(
    contact.name ||
    contact.company ||
    contact.balance !== undefined ||
    contact.ownerUserId !== undefined ||
    contact.link ||
    Object.values(contact.extras ?? {}).some(Boolean),
  );
}
