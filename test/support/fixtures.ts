/** Loading provider payloads from test/fixtures, as the ingest would see them. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const ROOT = new URL('../fixtures/', import.meta.url);

/** The verbatim text of a fixture file, e.g. `hipcall/call_init.json`. */
export function fixtureText(path: string): string {
  return readFileSync(new URL(path, ROOT), 'utf8');
}

/** A fixture parsed as a webhook body. */
export function fixture(path: string): unknown {
  return JSON.parse(fixtureText(path));
}

/** A fixture with fields replaced at the top level or, with `under` (e.g. `data`), in a nested object; `undefined` removes a field. */
export function fixtureWith(path: string, patch: Record<string, unknown>, under?: string): Record<string, unknown> {
  const body = JSON.parse(fixtureText(path)) as Record<string, unknown>;
  const target = (under ? body[under] : body) as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete target[key];
    else target[key] = value;
  }
  return body;
}

/** SHA-256 (hex) of a fixture's bytes: what the ingest hashes for the delivery key. */
export function fixtureSha256(path: string): string {
  return createHash('sha256').update(fixtureText(path)).digest('hex');
}

/** Every permutation of `items` (n! of them; items are distinct by position, so repeats are permuted too). */
export function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [items[i] as T, ...tail];
  }
}
