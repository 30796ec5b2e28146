/** The AWS limits layer lives in bin/local (`npm start` enforces it too); tests import it from here. */
export * from '#bin/local/aws-limits.ts';
