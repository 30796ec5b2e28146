/** A delivery or input that can never succeed as sent; the message tells a person what to fix. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** A failure that may succeed if tried again later (network, throttling, 5xx). */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A failure that will not succeed however often it is tried (refused URL, 4xx from an API). */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * AWS error names that mean "this request can never succeed as sent": DynamoDB refusing an item
 * (size, number, key, string rules), S3 refusing a key, SQS refusing a message. Retrying them only
 * moves the delivery to a DLQ ten receives later.
 */
const PERMANENT_AWS_ERRORS = new Set([
  'ValidationException',
  'ItemCollectionSizeLimitExceededException',
  'KeyTooLongError',
  'InvalidParameterValue',
  'InvalidMessageContents',
  'BatchRequestTooLong',
]);

/** True for a write error that a retry cannot fix (an AWS refusal of the request itself, or a value lib-dynamodb cannot marshal). */
export function isPermanentWriteError(err: unknown): boolean {
  if (err instanceof ValidationError || err instanceof PermanentError) return true;
  if (!(err instanceof Error)) return false;
  if (PERMANENT_AWS_ERRORS.has(err.name)) return true;
  // lib-dynamodb refuses numbers it cannot convert exactly before any request is made.
  return /Number\.(MAX|MIN)_SAFE_INTEGER|Use NumberValue|Unsupported type passed/.test(err.message);
}
