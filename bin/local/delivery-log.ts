/**
 * The local stack's line per delivery: source, answer, reason and time, readable at a glance. Never the
 * token (it is in the path, which is not logged) and never a phone number (masked in any reason text).
 */
import { terminalSafe } from '#core/terminal-text.ts';
import type { WebhookAnswer } from './http-api.ts';

/** Runs of 7 or more digits, with the separators numbers are written with: anything that could be a phone number. */
const NUMBER_LIKE = /\+?\d(?:[\s().-]*\d){6,}/g;

const clean = (text: string, max: number) => {
  const t = terminalSafe(text.replace(NUMBER_LIKE, '<number>'));
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

/** `delivery hipcall    200 stored call_hangup 12 ms`, or undefined for a URL check (GET, HEAD). */
export function deliveryLine(a: WebhookAnswer): string | undefined {
  if (a.method !== 'POST') return undefined;
  let answer: { status?: unknown; event?: unknown; message?: unknown; warnings?: unknown } = {};
  try {
    answer = JSON.parse(a.body) as typeof answer;
  } catch {
    // An answer that is not JSON is logged by its status alone.
  }
  const head = `delivery ${clean(a.source, 40).padEnd(10)} ${a.status}`;
  if (a.status >= 400) return `${head} refused ${a.ms} ms: ${clean(typeof answer.message === 'string' ? answer.message : '', 300)}`;
  const what = [answer.status, answer.event].filter((v): v is string => typeof v === 'string').map((v) => clean(v, 60));
  const warnings = Array.isArray(answer.warnings) ? `; warnings: ${clean(answer.warnings.join(' '), 300)}` : '';
  return `${head} ${what.join(' ')} ${a.ms} ms${warnings}`;
}
