/** The clock processes read the time from. */

/** The time, in epoch milliseconds (tests pass a fake one). */
export type Clock = () => number;
