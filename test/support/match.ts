/**
 * vitest's asymmetric matchers typed `unknown` (vitest types them `any`), so they can stand in for a value inside
 * an expected object under the type-aware lint. eslint sends `expect.any(…)` and its siblings here.
 */
import { expect } from 'vitest';

export const match = {
  /** Any value its constructor made: `match.any(String)`, `match.any(Number)`, `match.any(Array)`. */
  any: (constructor: unknown): unknown => expect.any(constructor),
  /** A string the pattern matches. */
  stringMatching: (pattern: string | RegExp): unknown => expect.stringMatching(pattern),
  /** A string containing the text. */
  stringContaining: (text: string): unknown => expect.stringContaining(text),
  /** An array holding at least these items (in any order). */
  arrayContaining: (items: readonly unknown[]): unknown => expect.arrayContaining([...items]),
  /** An object with at least these fields. */
  objectContaining: (fields: Record<string, unknown>): unknown => expect.objectContaining(fields),
};
