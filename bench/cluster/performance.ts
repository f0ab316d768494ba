import type { Check } from "../../test/support/cluster/checks.js";
import type { ClusterRun } from "../../test/support/cluster/run.js";
import { percentiles } from "../../test/support/percentiles.js";
import { table } from "../support.js";

const MINUTE = 60_000;
const MAX_RSS_GROWTH = 0.1;
const MAX_P99_RATIO = 1.5;
/**
 * The goals are the soak's: over 30 minutes, the windows (warm-up 0–2, early 2–5, late the last 5)
 * lie away from the one-off faults, which come at 10–65 % of the run. A shorter run reports the same
 * figures, its windows scaled to the run (20 %, 20–50 %, the second half), without a verdict: there,
 * the database stall and the Redis restart fall inside them.
 */
const SOAK_MS = 30 * MINUTE;

/** The warm-up's end, and the early and late windows of the list latency, as fractions of the load. */
function windowsOf(run: ClusterRun): { warmUp: number; early: [number, number]; late: [number, number]; judged: boolean } {
  const length = run.loadEndedAt - run.loadStartedAt;
  if (length < SOAK_MS) return { warmUp: 0.2, early: [0.2, 0.5], late: [0.5, 1.0001], judged: false };
  const at = (ms: number) => ms / length;
  return { warmUp: at(2 * MINUTE), early: [at(2 * MINUTE), at(5 * MINUTE)], late: [1 - at(5 * MINUTE), 1.0001], judged: true };
}

const percent = (fraction: number) => `${Math.round(fraction * 100)} %`;

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

/** How many times an instance exited on its own during the load. */
function crashesOf(run: ClusterRun, name: string): number {
  const instance = run.instances.find((found) => found.name === name)!;
  return instance.exits.filter((exit) => !exit.killed && exit.at <= run.loadEndedAt).length;
}

/** A fraction of the load's time, as an instant. */
function instant(run: ClusterRun, fraction: number): number {
  return run.loadStartedAt + fraction * (run.loadEndedAt - run.loadStartedAt);
}

/** Each instance's RSS after the warm-up and at the end of the load, and the verdict on the one never killed. */
export function memoryReport(run: ClusterRun, stable: string): { lines: string; check: Check } {
  const { warmUp, judged } = windowsOf(run);
  const warm = instant(run, warmUp);
  const rows = run.instances.map((instance) => {
    const samples = run.memory.filter((sample) => sample.instance === instance.name && sample.at <= run.loadEndedAt);
    const after = samples.find((sample) => sample.at >= warm);
    const end = samples.at(-1);
    const kills = run.faults.kills.filter((kill) => kill.instance === instance.name).length;
    return { name: instance.name, after, end, kills, crashes: crashesOf(run, instance.name) };
  });
  const lines = table(
    ["instance", "RSS after warm-up MB", "RSS at the end MB", "growth", "SIGKILLed", "crashed"],
    rows.map(({ name, after, end, kills, crashes }) => [
      name,
      after ? mb(after.rss) : "-",
      end ? mb(end.rss) : "-",
      after && end ? `${(((end.rss - after.rss) / after.rss) * 100).toFixed(1)} %` : "-",
      kills,
      crashes,
    ]),
  );
  const steady = rows.find((row) => row.name === stable)!;
  const growth = steady.after && steady.end ? (steady.end.rss - steady.after.rss) / steady.after.rss : NaN;
  return {
    lines,
    check: {
      name: `${stable} (never killed): RSS growth from the end of warm-up (${percent(warmUp)} of the run) to the end ≤ ${MAX_RSS_GROWTH * 100} %`,
      pass: steady.crashes === 0 && growth <= MAX_RSS_GROWTH,
      judged,
      detail: [
        steady.crashes > 0
          ? `not measurable: ${stable} crashed ${steady.crashes} times (a new process each time)`
          : Number.isNaN(growth)
            ? "no samples"
            : `${(growth * 100).toFixed(1)} %`,
      ],
    },
  };
}

/** List p99 per tenth of the load (a minute of a 10-minute run) per instance, and the verdict on the one never killed. */
export function listLatencyReport(run: ClusterRun, stable: string): { lines: string; check: Check } {
  const nameOf = new Map(run.instances.map((instance) => [`127.0.0.1:${instance.port}`, instance.name]));
  const reads = run.reads.filter((read) => read.code === undefined && read.at <= run.loadEndedAt);
  const slices = 10;
  const rows = Array.from({ length: slices }, (_, n) => {
    const [from, to] = [instant(run, n / slices), instant(run, (n + 1) / slices)];
    const inSlice = reads.filter((read) => read.at >= from && read.at < to);
    return [
      `${((from - run.loadStartedAt) / 1000).toFixed(0)}–${((to - run.loadStartedAt) / 1000).toFixed(0)} s`,
      inSlice.length,
      ...run.instances.map((instance) => {
        const { p99, n } = percentiles(inSlice.filter((read) => nameOf.get(read.via) === instance.name).map((read) => read.ms));
        return n === 0 ? "-" : p99.toFixed(0);
      }),
    ];
  });
  const p99Between = (from: number, to: number) =>
    percentiles(
      reads
        .filter((read) => nameOf.get(read.via) === stable && read.at >= instant(run, from) && read.at < instant(run, to))
        .map((read) => read.ms),
    ).p99;
  const windows = windowsOf(run);
  const early = p99Between(...windows.early);
  const late = p99Between(...windows.late);
  const crashes = crashesOf(run, stable);
  const [earlyName, lateName] = windows.judged ? ["minutes 2–5", "the last 5 minutes"] : ["20–50 % of the run", "the second half"];
  return {
    lines: table(["load time", "reads", ...run.instances.map((instance) => `${instance.name} p99 ms`)], rows),
    check: {
      name: `${stable} (never killed): list p99 of ${lateName} ≤ ${MAX_P99_RATIO}× that of ${earlyName}`,
      pass: crashes === 0 && late <= MAX_P99_RATIO * early,
      judged: windows.judged,
      detail: [
        ...(crashes > 0 ? [`${stable} crashed ${crashes} times`] : []),
        Number.isNaN(early) || Number.isNaN(late)
          ? "not measurable: no successful list read in one of the windows"
          : `p99 ${early.toFixed(0)} ms in ${earlyName}, ${late.toFixed(0)} ms in ${lateName} (${(late / early).toFixed(2)}×)`,
      ],
    },
  };
}
