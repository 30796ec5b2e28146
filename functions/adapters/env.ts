/**
 * Reading a function's environment: the zod pieces every composition root (functions/<name>/deps.ts)
 * builds its one schema from, and the one place that turns a bad variable into a message a person can
 * act on. Validated once, at cold start: a function with a bad environment fails before its first event.
 * zod/mini (a few KB, tree-shaken) rather than zod (about 450 KB parsed at every cold start). The
 * config is not in the environment: it comes with the code (adapters/bundled-config.ts).
 */
import * as z from 'zod/mini';
import '#core/zod-messages.ts';

/** A variable the stack always sets: present and not empty. */
export const required = z.string().check(z.minLength(1));

/** A transform's failure, as an issue on the variable it reads (zod/mini's transform context has no addIssue). */
function fail(payload: z.core.ParsePayload, message: string): never {
  payload.issues.push({ code: 'custom', message, input: payload.value, path: [] });
  return z.NEVER;
}

/** A JSON object keyed by source id whose values are strings, e.g. `{"hipcall": "arn:..."}`. */
export const jsonMap = z.pipe(
  z.string(),
  z.transform((text: string, payload): Record<string, string> => {
    try {
      const value = JSON.parse(text) as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string'))
        return value as Record<string, string>;
    } catch {
      // reported below
    }
    return fail(payload, 'must be a JSON object of strings keyed by source id, such as {"hipcall": "..."}');
  }),
);

/** Powertools' log level, as `POWERTOOLS_LOG_LEVEL` sets it. */
export const logLevel = z.optional(
  z.pipe(z.string().check(z.toUpperCase()), z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'])),
);

/** Every variable a function reads may be checked here; unknown ones are ignored (Lambda sets many). */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Validate `env` against a function's schema. Throws one Error naming every bad variable and saying who
 * sets it, e.g. `Environment of the media function: CALLS_TABLE is not set. ...`.
 */
export function readEnv<S extends z.ZodMiniType>(schema: S, env: Env, fn: string): z.output<S> {
  // Empty strings mean "not set" (Lambda cannot hold an unset variable in a template; shells export empties).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const name = i.path.map(String).join('.') || '(environment)';
    return `${name} ${i.code === 'invalid_type' && !(name in present) ? 'is not set' : i.message}`;
  });
  throw new Error(
    `Environment of the ${fn} function: ${problems.join('; ')}. The CDK stack sets these (redeploy it); locally, bin/local passes them.`,
  );
}
