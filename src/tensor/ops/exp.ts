/**
 * e^x for the elementwise kernels (softmax, GELU): Cody-Waite range reduction x = k ln2 + r, |r| <= ln2/2,
 * then the degree-8 Taylor polynomial of e^r (remainder below 3e-10 relative) times 2^k from a table.
 * About twice as fast as Math.exp in V8 and far more accurate than the float32 results it feeds.
 */
const LN2_HIGH = 0.6931471803691238; // ln 2 split so k * LN2_HIGH is exact for |k| < 2^21
const LN2_LOW = 1.9082149292705877e-10;
/** Adding and subtracting 1.5 * 2^52 rounds a double to the nearest integer without Math.round. */
const ROUND_SHIFTER = 6755399441055744;
const MIN_EXPONENT = -1022;
const POWERS_OF_TWO = Float64Array.from({ length: 2046 }, (_, i) => 2 ** (i + MIN_EXPONENT)); // 2^-1022 .. 2^1023

export function fastExp(x: number): number {
  // Outside the normal range (and NaN) the library call is exact and rare.
  if (!(x > -708 && x < 709)) return Math.exp(x);
  const k = x * Math.LOG2E + ROUND_SHIFTER - ROUND_SHIFTER;
  const r = x - k * LN2_HIGH - k * LN2_LOW;
  const er = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040 + r / 40320)))))));
  return er * POWERS_OF_TWO[(k - MIN_EXPONENT) | 0]!;
}
