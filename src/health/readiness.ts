import type { Request, RequestHandler, Response } from "express";

/** How long each dependency has to answer the readiness check. */
export const READINESS_TIMEOUT_MS = 1000;

/** Asks one dependency to answer; resolves when it did. */
export type Probe = () => Promise<unknown>;

export interface ReadinessProbes {
  /** SELECT 1 through the pool. */
  database: Probe;
  /** Each Redis connection the server holds, by purpose ("pub/sub"…); none: Redis is "not used". */
  redis: Record<string, Probe>;
  /** The job store (Agenda's backend). */
  jobs: Probe;
}

export interface Readiness {
  ready: boolean;
  /** "ok", "not used", or what failed: "timed out after 1000 ms", "failed: ECONNREFUSED". */
  checks: { database: string; redis: string; jobs: string };
}

interface Outcome {
  problem?: string;
  error?: unknown;
}

/** What a failure is called in the answer: its code or type, never its message (which names hosts, users…). */
function failureOf(error: unknown): string {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  return `failed: ${typeof code === "string" || typeof code === "number" ? code : typeof name === "string" ? name : "error"}`;
}

async function probe(run: Probe, timeoutMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ problem: `timed out after ${timeoutMs} ms` }), timeoutMs);
  });
  const answered = Promise.resolve()
    .then(run)
    .then(
      (): Outcome => ({}),
      (error: unknown): Outcome => ({ problem: failureOf(error), error }),
    );
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Asks the database, each Redis connection and the job store to answer, all at once, each within
 * `timeoutMs`. Ready only when all did. `failed` hears of each failure (for the log).
 */
export async function checkReadiness(
  probes: ReadinessProbes,
  timeoutMs = READINESS_TIMEOUT_MS,
  failed: (check: string, outcome: { problem: string; error?: unknown }) => void = () => undefined,
): Promise<Readiness> {
  const redisNames = Object.keys(probes.redis);
  const [database, jobs, ...redis] = await Promise.all([
    probe(probes.database, timeoutMs),
    probe(probes.jobs, timeoutMs),
    ...redisNames.map((name) => probe(probes.redis[name], timeoutMs)),
  ]);
  const describe = (check: string, outcome: Outcome): string => {
    if (outcome.problem === undefined) return "ok";
    failed(check, { problem: outcome.problem, error: outcome.error });
    return outcome.problem;
  };
  const redisProblems = redis.flatMap((outcome, index) =>
    outcome.problem === undefined ? [] : [`${redisNames[index]}: ${describe(`redis (${redisNames[index]})`, outcome)}`],
  );
  const checks = {
    database: describe("database", database),
    redis: redisNames.length === 0 ? "not used" : redisProblems.length === 0 ? "ok" : redisProblems.join("; "),
    jobs: describe("jobs", jobs),
  };
  const ready = database.problem === undefined && jobs.problem === undefined && redisProblems.length === 0;
  return { ready, checks };
}

/**
 * GET /readyz: 200 `{status: "ready", checks}` when every dependency answered in time, else 503
 * `{status: "not ready", checks}` naming what failed. Needs no key; never cached.
 */
export function readinessEndpoint(probes: ReadinessProbes, timeoutMs = READINESS_TIMEOUT_MS): RequestHandler {
  return async (req: Request, res: Response) => {
    const { ready, checks } = await checkReadiness(probes, timeoutMs, (check, { problem, error }) =>
      req.log.warn({ check, problem, err: error }, "readiness check failed"),
    );
    res.set("cache-control", "no-store");
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not ready", checks });
  };
}
