/** Reading a queue message body: the one place a body that is not JSON becomes a ValidationError. */
import { ValidationError } from './errors.ts';

/** The JSON of a message body; ValidationError (the message will never succeed) when it is not JSON. */
export function messageJson(body: string, what: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new ValidationError(`the ${what} is not JSON`);
  }
}
