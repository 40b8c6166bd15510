/**
 * Aligning the ranks' clocks with the driver's, as NTP does: the driver sends at t0, the rank receives at t1
 * and answers at t2 (its clock), the driver receives at t3. The rank's clock runs ahead of the driver's by
 * θ = ((t1 − t0) + (t2 − t3)) / 2, with an error of at most half the round trip (t3 − t0) − (t2 − t1);
 * the sample with the shortest round trip is the most trustworthy.
 */
export interface ClockSample {
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly repliedAt: number;
  readonly returnedAt: number;
}

export interface ClockOffset {
  /** Seconds the rank's clock is ahead of the driver's: driver time = rank time − offset. */
  readonly offset: number;
  /** Seconds of the best sample's round trip: the offset is right to within half of it. */
  readonly roundTrip: number;
}

export function clockOffset(samples: readonly ClockSample[]): ClockOffset {
  let best: ClockOffset | undefined;
  for (const { sentAt, receivedAt, repliedAt, returnedAt } of samples) {
    const roundTrip = returnedAt - sentAt - (repliedAt - receivedAt);
    if (best === undefined || roundTrip < best.roundTrip) best = { offset: (receivedAt - sentAt + (repliedAt - returnedAt)) / 2, roundTrip };
  }
  if (best === undefined) throw new Error('clock alignment needs at least one sample');
  return best;
}
