/** A delivery or input that can never succeed as sent; the message tells a person what to fix. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(message: string, readonly details?: unknown) {
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
