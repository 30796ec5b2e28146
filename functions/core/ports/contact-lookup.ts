/** The ContactLookup port: contacts by number (adapter: adapters/contacts-table.ts, ContactsTable, which also writes the CLI's imports). */
import type { Contact } from '#core/contact.ts';

/** Where the insight worker finds a contact by E.164 number. */
export interface ContactLookup {
  find(phone: string, abortSignal?: AbortSignal): Promise<Contact | undefined>;
}
