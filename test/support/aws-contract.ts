/** The AWS contract layer lives in bin/local (the local stack uses it too); tests import it from here. */
export * from '#bin/local/aws-contract.ts';
