/** "Play": a moment that sweeps across a step in a few seconds of wall time, pausable and scrubbable. */
import { useEffect, useRef, useState } from 'preact/hooks';

/** Wall-clock seconds one step takes to play, whatever its simulated length. */
const PLAY_SECONDS = 6;

export interface Playback {
  /** The moment drawn, or undefined when the whole step is shown. */
  readonly now: number | undefined;
  readonly playing: boolean;
  toggle(): void;
  seek(now: number | undefined): void;
}

export function usePlayback(makespan: number): Playback {
  const [now, setNowState] = useState<number | undefined>(undefined);
  const [playing, setPlaying] = useState(false);
  const position = useRef<number | undefined>(undefined); // the moment the animation frames advance
  const setNow = (moment: number | undefined) => {
    position.current = moment;
    setNowState(moment);
  };
  useEffect(() => {
    if (!playing) return;
    let last = performance.now();
    let frame = 0;
    const tick = (time: number) => {
      const next = Math.min((position.current ?? 0) + ((time - last) / 1000) * (makespan / PLAY_SECONDS), makespan);
      last = time;
      setNow(next);
      if (next >= makespan) setPlaying(false);
      else frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [playing, makespan]);
  // A new schedule starts with the whole step on show.
  useEffect(() => {
    setPlaying(false);
    setNow(undefined);
  }, [makespan]);
  return {
    now,
    playing,
    toggle: () => {
      if (!playing && (position.current === undefined || position.current >= makespan)) setNow(0);
      setPlaying(!playing);
    },
    seek: (moment) => {
      setPlaying(false);
      setNow(moment);
    },
  };
}
