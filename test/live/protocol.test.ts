import { expect } from "chai";
import { CloseCode } from "graphql-ws";
import WebSocket from "ws";
import { createPartner, type TestPartner } from "../support/fixtures.js";
import { ADMIN_KEY, useTestServer } from "../support/harness.js";
import { subscriptionsReach, wsUrl, type Closed } from "../support/live.js";

const RECEIVED = `subscription { referralReceived { id } }`;

/** A socket speaking the protocol by hand: what it sent is exactly what the server sees. */
class RawSocket {
  readonly messages: Record<string, unknown>[] = [];
  readonly closed: Promise<Closed>;
  private readonly socket: WebSocket;
  private waiting: (() => void) | undefined;

  /** `protocol` null: the socket asks for no subprotocol. */
  constructor(url: string, protocol: string | null) {
    this.socket = protocol === null ? new WebSocket(url) : new WebSocket(url, protocol);
    this.socket.on("message", (data) => {
      this.messages.push(JSON.parse(String(data)));
      this.waiting?.();
    });
    this.closed = new Promise((resolve) => this.socket.once("close", (code, reason) => resolve({ code, reason: String(reason) })));
  }

  async send(message: Record<string, unknown> | string): Promise<void> {
    if (this.socket.readyState === WebSocket.CONNECTING) await new Promise((resolve) => this.socket.once("open", resolve));
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Waits until `count` messages have arrived in all. */
  async received(count: number): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + 3000;
    while (this.messages.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.messages.length} of ${count} messages: ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.messages.slice(0, count);
  }

  /** Opened and acknowledged with `key`. */
  async acknowledged(key: string): Promise<this> {
    await this.send({ type: "connection_init", payload: { authorization: `Bearer ${key}` } });
    expect(await this.received(1)).to.deep.equal([{ type: "connection_ack" }]);
    return this;
  }

  close(): void {
    this.socket.close();
  }
}

describe("live > the graphql-transport-ws protocol", () => {
  const server = useTestServer();
  let partner: TestPartner;
  const sockets: RawSocket[] = [];
  const raw = (protocol: string | null = "graphql-transport-ws") => {
    const socket = new RawSocket(wsUrl(server.current), protocol);
    sockets.push(socket);
    return socket;
  };

  before(async () => {
    partner = await createPartner(server.current);
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });

  it("acknowledges connection_init carrying a valid key, and answers ping with pong, payload and all", async () => {
    const socket = await raw().acknowledged(partner.api.key!);
    await socket.send({ type: "ping", payload: { at: 1 } });
    await socket.send({ type: "ping" });
    expect((await socket.received(3)).slice(1)).to.deep.equal([{ type: "pong", payload: { at: 1 } }, { type: "pong" }]);
  });

  it("answers a query with next, then complete, under the socket's key", async () => {
    const socket = await raw().acknowledged(partner.api.key!);
    await socket.send({ id: "q1", type: "subscribe", payload: { query: "{ me { role partner { id } } }" } });
    expect((await socket.received(3)).slice(1)).to.deep.equal([
      { id: "q1", type: "next", payload: { data: { me: { role: "PARTNER", partner: { id: partner.id } } } } },
      { id: "q1", type: "complete" },
    ]);
  });

  it("answers a document that does not validate with error, and the socket goes on", async () => {
    const socket = await raw().acknowledged(partner.api.key!);
    await socket.send({ id: "bad", type: "subscribe", payload: { query: "{ nope }" } });
    const [, refused] = await socket.received(2);
    expect(refused).to.include({ id: "bad", type: "error" });
    expect((refused.payload as { extensions: { code: string } }[])[0].extensions.code).to.equal("GRAPHQL_VALIDATION_FAILED");
    await socket.send({ id: "good", type: "subscribe", payload: { query: "{ me { role } }" } });
    expect((await socket.received(4)).slice(2)).to.deep.equal([
      { id: "good", type: "next", payload: { data: { me: { role: "PARTNER" } } } },
      { id: "good", type: "complete" },
    ]);
  });

  it("ends a subscription on complete: it leaves the fan-out, and the socket stays open", async () => {
    const socket = await raw().acknowledged(ADMIN_KEY);
    await socket.send({ id: "s1", type: "subscribe", payload: { query: RECEIVED } });
    await subscriptionsReach(server.current, 1);
    await socket.send({ id: "s1", type: "complete" });
    await subscriptionsReach(server.current, 0);
    // The id is free again.
    await socket.send({ id: "s1", type: "subscribe", payload: { query: RECEIVED } });
    await subscriptionsReach(server.current, 1);
    socket.close();
    await subscriptionsReach(server.current, 0);
  });

  it("runs several subscriptions on one socket, each ended by its own complete, its id free again", async () => {
    const socket = await raw().acknowledged(ADMIN_KEY);
    const subscribeAs = (id: string) => socket.send({ id, type: "subscribe", payload: { query: RECEIVED } });
    await subscribeAs("a");
    await subscribeAs("b");
    await subscribeAs("c");
    await subscriptionsReach(server.current, 3);
    await socket.send({ id: "a", type: "complete" });
    await subscriptionsReach(server.current, 2);
    await subscribeAs("a");
    await socket.send({ id: "b", type: "complete" });
    await socket.send({ id: "c", type: "complete" });
    await subscriptionsReach(server.current, 1);
    await subscribeAs("b");
    await subscribeAs("c");
    await subscriptionsReach(server.current, 3);
    expect(socket.messages).to.deep.equal([{ type: "connection_ack" }]);
    socket.close();
    await subscriptionsReach(server.current, 0);
  });

  it("closes with 4409 a subscribe whose id is already running", async () => {
    const socket = await raw().acknowledged(ADMIN_KEY);
    await socket.send({ id: "same", type: "subscribe", payload: { query: RECEIVED } });
    await subscriptionsReach(server.current, 1);
    await socket.send({ id: "same", type: "subscribe", payload: { query: RECEIVED } });
    expect(await socket.closed).to.deep.equal({ code: CloseCode.SubscriberAlreadyExists, reason: "Subscriber for same already exists" });
    await subscriptionsReach(server.current, 0);
  });

  it("closes with 4401 a subscribe before the connection is acknowledged", async () => {
    const socket = raw();
    await socket.send({ id: "early", type: "subscribe", payload: { query: "{ me { role } }" } });
    expect(await socket.closed).to.deep.equal({ code: CloseCode.Unauthorized, reason: "Unauthorized" });
  });

  it("closes with 4429 a second connection_init", async () => {
    const socket = await raw().acknowledged(partner.api.key!);
    await socket.send({ type: "connection_init", payload: { authorization: `Bearer ${partner.api.key}` } });
    expect(await socket.closed).to.deep.equal({
      code: CloseCode.TooManyInitialisationRequests,
      reason: "Too many initialisation requests",
    });
  });

  for (const [what, message] of [
    ["text that is not JSON", "{ nope"],
    ["a message of no known type", JSON.stringify({ type: "shout" })],
    ["a subscribe without a query", JSON.stringify({ id: "x", type: "subscribe", payload: {} })],
  ]) {
    it(`closes with 4400 on ${what}`, async () => {
      const socket = await raw().acknowledged(partner.api.key!);
      await socket.send(message);
      expect(await socket.closed).to.deep.equal({ code: CloseCode.BadRequest, reason: "Invalid message received" });
    });
  }

  it("closes with 4406 a socket that did not ask for graphql-transport-ws", async () => {
    expect(await raw(null).closed).to.deep.equal({ code: CloseCode.SubprotocolNotAcceptable, reason: "Subprotocol not acceptable" });
  });
});
