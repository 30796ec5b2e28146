/**
 * The Hipcall Insight Card built from a contact and the source's card template. Pure.
 *
 * The Insight Card API refuses (HTTP 422) a row that carries any field its type does not allow, even
 * with a null value, so every card goes through `sanitiseCard` before it is posted.
 */
import { contactField, parseAmount, parseUserId, safeLink, standardField, textOf, type Contact } from './contact.ts';

export type RowType = 'title' | 'shortText' | 'user';

/** One configured row of a card: which contact field, under which label, formatted how. */
export interface CardTemplateRow {
  field: string;
  label: string;
  format: 'text' | 'currency' | 'user';
}

/** The card template of a source (validated by functions/contract/config.ts's cardTemplateSchema). */
export interface CardTemplate {
  title: string;
  /** Title row link; `{link}` is replaced by the contact's link. */
  titleLink?: string | undefined;
  rows: CardTemplateRow[];
  /** ISO 4217 code for `currency` rows. */
  currency: string;
  /** BCP 47 locale for number formatting. */
  locale: string;
  /** Include every extra column of the contact as a row. */
  includeExtras: boolean;
}

export interface TitleRow {
  type: 'title';
  text: string;
  link?: string;
}
export interface ShortTextRow {
  type: 'shortText';
  text: string;
  label?: string;
  link?: string;
  /** Deep link opened by the iOS app. */
  ios?: string;
  /** Deep link opened by the Android app. */
  android?: string;
}
export interface UserRow {
  type: 'user';
  label?: string;
  /** A Hipcall user id. */
  user_id: number;
}
export type CardRow = TitleRow | ShortTextRow | UserRow;

/** The fields each row type may carry besides `type`: anything else makes the API answer 422. */
export const allowedRowFields: Readonly<Record<RowType, readonly string[]>> = {
  title: ['text', 'link'],
  shortText: ['text', 'label', 'link', 'ios', 'android'],
  user: ['label', 'user_id'],
};

/** The field a row cannot be shown without. */
const REQUIRED: Readonly<Record<RowType, string>> = { title: 'text', shortText: 'text', user: 'user_id' };

const isRowType = (t: unknown): t is RowType => typeof t === 'string' && Object.hasOwn(allowedRowFields, t);

/**
 * Keep only what the API accepts: rows of a known type, each with only its allowed fields, no null or
 * empty values, strings as strings and `user_id` as a whole number. A row left without its required
 * field is dropped.
 */
export function sanitiseCard(rows: readonly unknown[]): CardRow[] {
  const out: CardRow[] = [];
  for (const row of rows) {
    if (!row || typeof row !== 'object') continue;
    const source = row as Record<string, unknown>;
    const type = source.type;
    if (!isRowType(type)) continue;
    const clean: Record<string, unknown> = { type };
    for (const field of allowedRowFields[type]) {
      const value = field === 'user_id' ? parseUserId(source[field]) : textOf(source[field]);
      if (value !== undefined) clean[field] = value;
    }
    if (clean[REQUIRED[type]] === undefined) continue;
    out.push(clean as unknown as CardRow);
  }
  return out;
}

/** Fields a row type does not allow, for a row as posted (the stand-in API and the tests use it). */
export function disallowedFields(row: Record<string, unknown>): string[] {
  if (!isRowType(row.type)) return Object.keys(row);
  const allowed = new Set(['type', ...allowedRowFields[row.type]]);
  return Object.keys(row).filter((k) => !allowed.has(k));
}

const formatters = new Map<string, Intl.NumberFormat>();

/** `amount` as money in `currency` for `locale`, e.g. 4250 → "$4,250.00" (en-US, USD). */
export function formatCurrency(amount: number, currency: string, locale: string): string {
  const key = `${locale}|${currency}`;
  let format = formatters.get(key);
  if (!format) {
    try {
      format = new Intl.NumberFormat(locale, { style: 'currency', currency });
    } catch {
      // A template that passed validation should not get here; a readable amount beats no card.
      format = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', currencyDisplay: 'code' });
    }
    formatters.set(key, format);
  }
  return format.format(amount);
}

/** The title link: the template's (with `{link}` and `{phone}` filled in) or else the contact's own link. */
function titleLinkOf(contact: Contact, template: CardTemplate): string | undefined {
  if (template.titleLink === undefined) return safeLink(contact.link);
  const link = safeLink(contact.link);
  if (template.titleLink.includes('{link}') && !link) return undefined;
  return safeLink(template.titleLink.replaceAll('{link}', link ?? '').replaceAll('{phone}', encodeURIComponent(contact.phone)));
}

/** One template row for a contact, or undefined when the contact has no value for it. */
function rowOf(contact: Contact, row: CardTemplate['rows'][number], template: CardTemplate): CardRow | undefined {
  const value = contactField(contact, row.field);
  if (value === undefined || value === '') return undefined;
  switch (row.format) {
    case 'user': {
      const userId = parseUserId(value);
      return userId === undefined ? undefined : { type: 'user', label: row.label, user_id: userId };
    }
    case 'currency': {
      const amount = parseAmount(value);
      const text = amount === undefined ? textOf(value) : formatCurrency(amount, template.currency, template.locale);
      return text === undefined ? undefined : { type: 'shortText', label: row.label, text };
    }
    default: {
      const text = textOf(value);
      if (text === undefined) return undefined;
      const link = standardField(row.field) === 'link' ? safeLink(value) : undefined;
      return link ? { type: 'shortText', label: row.label, text, link } : { type: 'shortText', label: row.label, text };
    }
  }
}

/**
 * The card for a contact: a title row, one row per template row the contact has a value for, then
 * (with `includeExtras`) one row per extra field no template row names. Already sanitised.
 */
export function buildCard(contact: Contact, template: CardTemplate): CardRow[] {
  const rows: CardRow[] = [];
  const link = titleLinkOf(contact, template);
  rows.push(link ? { type: 'title', text: template.title, link } : { type: 'title', text: template.title });
  const named = new Set<string>();
  for (const row of template.rows) {
    named.add(row.field.toLowerCase());
    const built = rowOf(contact, row, template);
    if (built) rows.push(built);
  }
  if (template.includeExtras) {
    for (const [label, value] of Object.entries(contact.extras ?? {})) {
      if (named.has(label.toLowerCase())) continue;
      const text = textOf(value);
      if (text !== undefined) rows.push({ type: 'shortText', label, text });
    }
  }
  return sanitiseCard(rows);
}

/** True when the card shows something besides its title: a card with nothing to say is not sent. */
export function hasContent(card: readonly CardRow[]): boolean {
  return card.some((r) => r.type !== 'title');
}
