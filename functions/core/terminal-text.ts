/**
 * Text bound for a terminal, made harmless: a provider's id, number or hangup reason may carry escape
 * sequences (OSC 52 clipboard writes, screen clears, OSC 8 links, window titles) that a terminal would obey.
 */

/** C0 controls but newline and tab, DEL, C1 controls, and UTF-16 halves without their other half. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * `text` with every control character (C0 except `\n` and `\t`, DEL, C1) and every lone surrogate
 * written as a visible `\u001b`-style escape. The same escape is valid inside a JSON string, so a
 * JSON document stays the same JSON (JSON.stringify leaves DEL and C1 raw).
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
