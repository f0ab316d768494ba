// The hand-written baseline of bench/fanout.ts: a bare `ws` server. On the benchmark's word it
// broadcasts one message of the given size to every connected socket, stamped with the time it
// started sending. Run by the benchmark as a child process: PORT.
import { WebSocketServer } from "ws";

const wss = new WebSocketServer({ port: Number(process.env.PORT), maxPayload: 100 * 1024 });
wss.on("listening", () => process.send?.("listening"));
process.on("message", (message: { broadcast: number }) => {
  const sentAt = performance.timeOrigin + performance.now();
  const text = JSON.stringify({ sentAt, padding: "x".repeat(Math.max(0, message.broadcast - 40)) });
  for (const socket of wss.clients) socket.send(text);
});
process.on("SIGTERM", () => wss.close(() => process.exit(0)));
