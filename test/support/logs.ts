import { Writable } from "node:stream";
import { pino, type Logger } from "pino";

/** A pino logger writing JSON lines into `lines`, as production writes them to stdout. */
export function memoryLogger(lines: Record<string, any>[]): Logger {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return pino({ level: "info" }, stream);
}
