import { useEffect, useState } from "preact/hooks";
import type { Board } from "../state/board";

/** Re-render whenever the store changes (Preact batches the renders of one tick). */
export function useBoard(board: Board): Board {
  const [, setTick] = useState(0);
  useEffect(() => board.subscribe(() => setTick((t) => t + 1)), [board]);
  return board;
}

/** A clock for "running for 3 min" and "just edited": re-render every `ms`. */
export function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const handle = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(handle);
  }, [ms]);
  return now;
}
