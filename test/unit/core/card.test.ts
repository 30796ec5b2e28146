import { describe, expect, it } from 'vitest';
import { cardTemplateSchema } from '#contract/config-schema.ts';
import type { CardTemplate } from '#contract/config.ts';
import { allowedRowFields, buildCard, disallowedFields, formatCurrency, hasContent, sanitiseCard } from '#core/card.ts';
import type { Contact } from '#core/contact.ts';

const template = (raw: Record<string, unknown> = {}): CardTemplate => cardTemplateSchema.parse(raw);
const jane: Contact = { phone: '+442045205757', name: 'Jane Smith', company: 'Acme Corp', balance: 4250 };

describe('buildCard', () => {
  it('reproduces the Insight Card guide example with the default template', () => {
    expect(buildCard(jane, template({ title: 'Hipcall Insight', titleLink: 'https://www.hipcall.com' }))).toEqual([
      { type: 'title', text: 'Hipcall Insight', link: 'https://www.hipcall.com' },
      { type: 'shortText', label: 'Name', text: 'Jane Smith' },
      { type: 'shortText', label: 'Company', text: 'Acme Corp' },
      { type: 'shortText', label: 'Balance', text: '$4,250.00' },
    ]);
  });

  it('formats a balance given as text, as the CRM in the guide sends it', () => {
    expect(buildCard({ ...jane, balance: '4250.00' }, template())[3]).toEqual({ type: 'shortText', label: 'Balance', text: '$4,250.00' });
  });

  it('shows the account owner as a user row', () => {
    expect(buildCard({ ...jane, ownerUserId: 1121 }, template()).at(-1)).toEqual({ type: 'user', label: 'Account owner', user_id: 1121 });
  });

  it("links the title to the contact's own link unless the template says otherwise", () => {
    const linked = { ...jane, link: 'https://crm.example.com/c/42' };
    expect(buildCard(linked, template())[0]).toEqual({ type: 'title', text: 'CallVault', link: 'https://crm.example.com/c/42' });
    expect(buildCard(linked, template({ titleLink: 'https://crm.example.com/search?q={phone}' }))[0]!).toEqual({
      type: 'title',
      text: 'CallVault',
      link: 'https://crm.example.com/search?q=%2B442045205757',
    });
    expect(buildCard(jane, template({ titleLink: '{link}' }))[0]).toEqual({ type: 'title', text: 'CallVault' });
  });

  it('never links to anything but http(s)', () => {
    expect(buildCard({ ...jane, link: 'javascript:alert(1)' }, template())[0]).toEqual({ type: 'title', text: 'CallVault' });
  });

  it('leaves out rows the contact has no value for', () => {
    expect(buildCard({ phone: '+442045205757', name: 'Jane' }, template())).toEqual([
      { type: 'title', text: 'CallVault' },
      { type: 'shortText', label: 'Name', text: 'Jane' },
    ]);
  });

  it('adds extra fields as rows after the template rows, unless includeExtras is off', () => {
    const contact = { ...jane, extras: { Plan: 'Gold', Region: 'EMEA' } };
    expect(buildCard(contact, template()).slice(4)).toEqual([
      { type: 'shortText', label: 'Plan', text: 'Gold' },
      { type: 'shortText', label: 'Region', text: 'EMEA' },
    ]);
    expect(buildCard(contact, template({ includeExtras: false }))).toHaveLength(4);
  });

  it('uses template rows for extra fields, in template order, without repeating them', () => {
    const t = template({
      rows: [
        { field: 'plan', label: 'Tier' },
        { field: 'name', label: 'Who' },
      ],
    });
    expect(buildCard({ ...jane, extras: { Plan: 'Gold', Region: 'EMEA' } }, t).slice(1)).toEqual([
      { type: 'shortText', label: 'Tier', text: 'Gold' },
      { type: 'shortText', label: 'Who', text: 'Jane Smith' },
      { type: 'shortText', label: 'Region', text: 'EMEA' },
    ]);
  });

  it('formats money in the template currency and locale', () => {
    const t = template({ currency: 'gbp', locale: 'en-GB' });
    expect(buildCard(jane, t)[3]).toEqual({ type: 'shortText', label: 'Balance', text: '£4,250.00' });
    expect(formatCurrency(-12.5, 'TRY', 'tr-TR')).toBe('-₺12,50');
  });

  it('shows a balance that is not a number as the text it is', () => {
    expect(buildCard({ ...jane, balance: 'overdue' }, template())[3]).toEqual({ type: 'shortText', label: 'Balance', text: 'overdue' });
  });

  it('gives a link row its link', () => {
    const t = template({ rows: [{ field: 'link', label: 'Open in CRM' }] });
    expect(buildCard({ ...jane, link: 'https://crm.example.com/c/42' }, t)[1]).toEqual({
      type: 'shortText',
      label: 'Open in CRM',
      text: 'https://crm.example.com/c/42',
      link: 'https://crm.example.com/c/42',
    });
  });

  it('only ever builds rows with fields their type allows', () => {
    const contact: Contact = { ...jane, ownerUserId: 7, link: 'https://x.example/1', extras: { a: '1', b: '2' } };
    const rows = buildCard(contact, template({ rows: [...template().rows, { field: 'link', label: 'L' }] }));
    expect(rows.map((r) => r.type)).toEqual([
      'title',
      'shortText',
      'shortText',
      'shortText',
      'user',
      'shortText',
      'shortText',
      'shortText',
    ]);
    for (const row of rows) expect(disallowedFields(row as never)).toEqual([]);
  });
});

describe('sanitiseCard', () => {
  it('strips every field a row type does not allow, and null values of allowed ones', () => {
    expect(
      sanitiseCard([
        { type: 'title', text: 'T', label: 'not on titles', link: null },
        { type: 'shortText', text: 'x', label: 'L', user_id: 3, ios: 'app://x', android: undefined, extra: {} },
        { type: 'user', label: 'Owner', user_id: '1121', text: 'not on users', link: 'https://x' },
      ]),
    ).toEqual([
      { type: 'title', text: 'T' },
      { type: 'shortText', text: 'x', label: 'L', ios: 'app://x' },
      { type: 'user', label: 'Owner', user_id: 1121 },
    ]);
  });

  it('drops rows of unknown type and rows without their required field', () => {
    expect(
      sanitiseCard([
        null,
        'x',
        { type: 'image', url: 'u' },
        { type: 'shortText', label: 'no text' },
        { type: 'user', user_id: 'abc' },
        { type: 'title', text: '  ' },
      ]),
    ).toEqual([]);
  });

  it('writes numbers as text on text fields', () => {
    expect(sanitiseCard([{ type: 'shortText', label: 'Count', text: 42 }])).toEqual([{ type: 'shortText', label: 'Count', text: '42' }]);
  });

  it('allows exactly the documented fields', () => {
    expect(allowedRowFields).toEqual({
      title: ['text', 'link'],
      shortText: ['text', 'label', 'link', 'ios', 'android'],
      user: ['label', 'user_id'],
    });
  });
});

describe('hasContent', () => {
  it('is false for a card with only its title', () => {
    expect(hasContent(buildCard({ phone: '+442045205757' }, template()))).toBe(false);
    expect(hasContent(buildCard(jane, template()))).toBe(true);
  });
});

describe('card template config', () => {
  it('refuses a currency or locale Intl cannot use, with the fix in the message', () => {
    expect(() => template({ currency: 'dollars' })).toThrow(/ISO 4217/);
    expect(() => template({ locale: 'en_US!' })).toThrow(/BCP 47/);
  });
});
