import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
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

const ADMIN_DIR = new URL("../../src/admin/", import.meta.url);

export type AdminTool = "cli" | "demo";

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run admin -- …` (or `npm run demo`) after the build: the compiled tool, with exactly `env` (plus PATH, and NODE_V8_COVERAGE under c8). */
export function runAdminTool(tool: AdminTool, args: string[], env: Record<string, string>): Promise<ToolRun> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(`${tool}.js`, ADMIN_DIR)), ...args], {
    env: { PATH: process.env.PATH ?? "", ...COVERAGE, ...env },
    stdio: "pipe",
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function healthy(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    return response.ok && ((await response.json()) as { status?: string }).status === "ok";
  } catch {
    return false;
  }
}

/**
 * Resolves once the process started on `port` answers /healthz with status "ok" (as Docker's HEALTHCHECK asks); one
 * that exits first has failed to start.
 */
export async function untilServing(running: ReturnType<typeof startProcess>, port: number): Promise<void> {
  let exit: Exit | undefined;
  void running.exited.then((result) => (exit = result));
  while (!(await healthy(port))) {
    if (exit) throw new Error(`the server exited with ${exit.code} before serving:\n${exit.stdout}\n${exit.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
