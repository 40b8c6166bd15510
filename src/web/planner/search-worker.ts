/** Runs the plan search off the page's thread: a large cluster is thousands of estimates, and the page stays responsive. */
import { UsageError } from '../../errors.js';
import { noPlanError, searchPlans, type Estimate, type SearchRequest } from '../../planner/index.js';

export type SearchReply =
  | { readonly ok: true; readonly plans: readonly Estimate[]; readonly considered: number; readonly feasible: number }
  | { readonly ok: false; readonly message: string };

/** The part of a dedicated worker's global scope this file uses (the page's tsconfig has the DOM library, not WebWorker's). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<SearchRequest>) => void) | null;
  postMessage(reply: SearchReply): void;
}
const scope = self as unknown as WorkerScope;

function search(request: SearchRequest): SearchReply {
  try {
    const result = searchPlans(request);
    if (result.plans.length === 0) return { ok: false, message: noPlanError(request, result).message };
    return { ok: true, plans: result.plans, considered: result.considered, feasible: result.feasible };
  } catch (error) {
    if (error instanceof UsageError) return { ok: false, message: error.message };
    throw error;
  }
}

scope.onmessage = (event) => scope.postMessage(search(event.data));
