import { setMaxListeners } from "node:events";
import { createPubSub, type PubSub, type Repeater } from "@graphql-yoga/subscription";
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import type { Logger } from "pino";
import type { PubSubConfig } from "../config/index.js";
import type { Redis } from "ioredis";
import { connectRedis, UnreachableServiceError } from "../redis/index.js";

/** What travels between instances: a batch of the change feed has committed, or a key was revoked. */
export interface KeyRevokedMessage {
  keyId: string;
}

/** A batch of the change feed has committed (src/change-feed/sequencer.ts). */
export interface FeedBatchMessage {
  batch: number;
}

type Topics = Record<string, [KeyRevokedMessage] | [FeedBatchMessage]>;

/**
 * The live events bus: in-process when PUBSUB_URL is unset, through Redis when it names one (so a
 * subscriber on instance B sees a change made on instance A). The one place that makes this choice;
 * channels are prefixed by PUBSUB_NAMESPACE so deployments sharing a Redis never hear each other.
 */
export class LiveBus {
  private constructor(
    private readonly pubSub: PubSub<Topics>,
    private readonly namespace: string,
    private readonly closeConnections: () => Promise<void>,
    /** Pings each Redis connection; undefined when the bus stays in the process. */
    private readonly pingConnections?: () => Promise<void>,
  ) {}

  static async connect(config: PubSubConfig, logger: Logger): Promise<LiveBus> {
    if (config.url === undefined) {
      // Every subscriber listens on this one target: a thousand listeners are expected, not a leak.
      const eventTarget = new EventTarget();
      setMaxListeners(0, eventTarget);
      return new LiveBus(createPubSub<Topics>({ eventTarget }), config.namespace, async () => undefined);
    }
    let publishClient: Redis | undefined;
    let subscribeClient: Redis | undefined;
    try {
      publishClient = await connectRedis(config.url, "pub/sub", logger);
      subscribeClient = await connectRedis(config.url, "pub/sub", logger);
    } catch (error) {
      publishClient?.disconnect();
      throw new UnreachableServiceError("pub/sub", config.url, "PUBSUB_URL", error);
    }
    const eventTarget = createRedisEventTarget<CustomEvent>({ publishClient, subscribeClient });
    return new LiveBus(
      createPubSub<Topics>({ eventTarget }),
      config.namespace,
      async () => {
        await Promise.all([publishClient.quit(), subscribeClient.quit()]);
      },
      async () => {
        // PING is allowed on a connection in subscriber mode.
        await Promise.all([publishClient.ping(), subscribeClient.ping()]);
      },
    );
  }

  publishFeedBatch(batch: number): void {
    this.pubSub.publish(this.topic("feed-batches"), { batch });
  }

  feedBatches(): Repeater<FeedBatchMessage> {
    return this.pubSub.subscribe(this.topic("feed-batches")) as Repeater<FeedBatchMessage>;
  }

  publishKeyRevoked(keyId: string): void {
    this.pubSub.publish(this.topic("api-key-revocations"), { keyId });
  }

  keyRevocations(): Repeater<KeyRevokedMessage> {
    return this.pubSub.subscribe(this.topic("api-key-revocations")) as Repeater<KeyRevokedMessage>;
  }

  close(): Promise<void> {
    return this.closeConnections();
  }

  /** Whether the bus goes through Redis (PUBSUB_URL). */
  get usesRedis(): boolean {
    return this.pingConnections !== undefined;
  }

  /** Asks both Redis connections to answer (for the readiness check); at once when the bus is in the process. */
  async ping(): Promise<void> {
    await this.pingConnections?.();
  }

  private topic(name: string): string {
    return `${this.namespace}:live:${name}`;
  }
}
