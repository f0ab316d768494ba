import { TcpProxy } from "../../operations/tcp-proxy.js";

/**
 * The database's TCP proxy in a process of its own (services.ts, DatabaseProxy): in the process that
 * generates the load, a busy event loop (a storm of retries) delayed every statement of every
 * instance, and the benchmark measured itself. Commands come over IPC; it ends with its parent.
 */
const proxy = await TcpProxy.start(Number(process.argv[2]));
process.on("message", (command: "freeze" | "restore" | "close") => {
  if (command === "freeze") proxy.freeze();
  else if (command === "restore") proxy.restore();
  else void proxy.close().then(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
process.send!({ port: proxy.port });
