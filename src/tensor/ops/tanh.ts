/**
 * tanh for GELU without a library call: tanh(u) = u P(u²) / Q(u²) on |u| < 10, ±1 beyond (where float32
 * cannot tell tanh from 1). P and Q are degree 5 in u², fitted for minimax relative error on [0, 10]
 * (Lawson-reweighted least squares against 30-digit tanh); the error stays below 1.4e-10 everywhere,
 * far under float32's 6e-8, at a fraction of Math.tanh's cost.
 */
const P0 = 0.9999999998678325;
const P1 = 0.14062544648285707;
const P2 = 0.004377188674170644;
const P3 = 4.102640052952685e-5;
const P4 = 1.041348966505751e-7;
const P5 = 3.2477521974236825e-11;
const Q1 = 0.4739587784605581;
const Q2 = 0.029030117134920208;
const Q3 = 0.0004914805338144433;
const Q4 = 2.488777881429807e-6;
const Q5 = 2.6935601301563767e-9;
const SATURATION = 10;

export function fastTanh(u: number): number {
  if (u >= SATURATION) return 1;
  if (u <= -SATURATION) return -1;
  const s = u * u;
  const p = P0 + s * (P1 + s * (P2 + s * (P3 + s * (P4 + s * P5))));
  const q = 1 + s * (Q1 + s * (Q2 + s * (Q3 + s * (Q4 + s * Q5))));
  return (u * p) / q;
}
