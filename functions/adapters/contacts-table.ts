/**
 * The contacts table, keyed by E.164 `phone`. Items are the Contact shape (functions/core/contact.ts):
 * `phone`, `name`, `company`, `balance`, `ownerUserId`, `link`, `extras`. Writes are whole-item puts,
 * so importing the same file twice leaves the table exactly as once.
 */
import { BatchWriteCommand, GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseAmount, parseUserId, safeLink, textOf, type Contact } from '#core/contact.ts';
import type { ContactLookup } from '#core/ports/contact-lookup.ts';

const BATCH = 25;

/** An item as stored, read defensively: a hand-edited item must not break a card. */
export function contactFromItem(item: Record<string, unknown>): Contact | undefined {
  if (typeof item.phone !== 'string') return undefined;
  const contact: Contact = { phone: item.phone };
  const name = textOf(item.name);
  const company = textOf(item.company);
  const balance = typeof item.balance === 'number' ? item.balance : (parseAmount(item.balance) ?? textOf(item.balance));
  const owner = parseUserId(item.ownerUserId);
  const link = safeLink(item.link);
  if (name) contact.name = name;
  if (company) contact.company = company;
  if (balance !== undefined) contact.balance = balance;
  if (owner !== undefined) contact.ownerUserId = owner;
  if (link) contact.link = link;
  if (item.extras && typeof item.extras === 'object' && !Array.isArray(item.extras)) {
    const extras: Record<string, string> = {};
    for (const [k, v] of Object.entries(item.extras as Record<string, unknown>)) {
      const text = textOf(v);
      if (text !== undefined) extras[k] = text;
    }
    if (Object.keys(extras).length) contact.extras = extras;
  }
  return contact;
}

export class ContactsTable implements ContactLookup {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async find(phone: string, abortSignal?: AbortSignal): Promise<Contact | undefined> {
    // Eventually consistent: contacts change by import, seconds or days before a call.
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { phone } }), { abortSignal });
    return Item ? contactFromItem(Item) : undefined;
  }

  /**
   * Put every contact (whole items, so a repeat changes nothing), 25 per request, a few requests at
   * a time, retrying what DynamoDB leaves unprocessed. Returns how many were written.
   */
  async putAll(
    contacts: readonly Contact[],
    options: { concurrency?: number; onProgress?: (written: number) => void } = {},
  ): Promise<number> {
    const unique = new Map(contacts.map((c) => [c.phone, c]));
    const chunks: Contact[][] = [];
    const all = [...unique.values()];
    for (let i = 0; i < all.length; i += BATCH) chunks.push(all.slice(i, i + BATCH));
    let written = 0;
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        await this.writeChunk(chunk);
        written += chunk.length;
        options.onProgress?.(written);
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, chunks.length) }, worker));
    return written;
  }

  private async writeChunk(chunk: Contact[]): Promise<void> {
    let requests = chunk.map((c) => ({ PutRequest: { Item: { ...c } } }));
    for (let attempt = 0; requests.length; attempt++) {
      if (attempt >= 10)
        throw new Error(
          `DynamoDB left ${requests.length} contact(s) unwritten after ${attempt} attempts: run the import again (it is idempotent).`,
        );
      if (attempt) await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2)));
      const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
      requests = (out.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
    }
  }
}
