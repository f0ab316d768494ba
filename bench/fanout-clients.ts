// The clients of bench/fanout.ts, in a process of their own: N sockets to the server (graphql-transport-ws,
// subscribed to `referralReceived` with the given key) or to the baseline (bare ws), the same `ws` sockets. Each records,
// per message, the time from the commit (the server: the referral's receivedAt; the baseline: when
// it started sending) to its own receipt. Argv: server|baseline, url, sockets, key, query.
import WebSocket from "ws";

const [mode, url, count, key, query] = process.argv.slice(2);
const latencies: number[] = [];
const now = () => performance.timeOrigin + performance.now();
const clients: WebSocket[] = [];

/** A subscriber speaking graphql-transport-ws itself: as little client-side work per message as the bare sockets do. */
async function openServerClient(): Promise<void> {
  const socket = new WebSocket(url, "graphql-transport-ws");
  clients.push(socket);
  await new Promise((resolve) => socket.once("open", resolve));
  await new Promise<void>((resolve, reject) => {
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: { data?: { referralReceived: { receivedAt: string } } } };
      if (message.type === "next") latencies.push(now() - new Date(message.payload!.data!.referralReceived.receivedAt).getTime());
      else if (message.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query } }));
        resolve();
      } else reject(new Error(`unexpected ${message.type}: ${String(data)}`));
    });
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${key}` } }));
  });
}

async function openBareSocket(): Promise<void> {
  const socket = new WebSocket(url);
  clients.push(socket);
  socket.on("message", (data) => latencies.push(now() - (JSON.parse(String(data)) as { sentAt: number }).sentAt));
  await new Promise((resolve) => socket.once("open", resolve));
}

for (let opened = 0; opened < Number(count); opened += 100) {
  await Promise.all(
    Array.from({ length: Math.min(100, Number(count) - opened) }, () => (mode === "server" ? openServerClient() : openBareSocket())),
  );
}
process.send!({ ready: Number(count) });
process.on("message", (message: string) => {
  if (message === "report") process.send!({ latencies: latencies.splice(0) });
  if (message === "close") {
    for (const client of clients) client.close();
    setTimeout(() => process.exit(0), 500);
  }
});
