import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

// What `npm start` runs, from whichever outDir this file was compiled to.
const MAIN = fileURLToPath(new URL("../../src/main.js", import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Under c8 (`npm run coverage`), child processes write their coverage where the run collects it. */
export const COVERAGE = process.env.NODE_V8_COVERAGE ? { NODE_V8_COVERAGE: process.env.NODE_V8_COVERAGE } : {};

/** Starts the server process with exactly `env` (plus PATH, and NODE_V8_COVERAGE under c8). */
export function startProcess(env: Record<string, string>): { child: ChildProcess; exited: Promise<Exit> } {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? "", ...COVERAGE, ...env }, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited };
}
