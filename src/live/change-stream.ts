import type { Repeater } from "@graphql-yoga/subscription";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { partnerScope, type Caller } from "../graphql/caller.js";
import type { ChangeFeedService } from "../change-feed/index.js";
import type { ReferralChange } from "../change-feed/index.js";
import { comparePositions, endOfBatch, type Position } from "../change-feed/index.js";
import { createLoaders, type Loaders } from "../graphql/loaders.js";
import { rateLimitedError } from "../rate-limits/index.js";
import type { LiveBus, FeedBatchMessage } from "./pubsub.js";
import { send, type LiveFanOut } from "./fan-out.js";
import type { Subscriber } from "./subscriber.js";
import { LIMITS } from "../graphql/limits.js";
import type { LiveRequest } from "./live-request.js";
import { LiveCloseCode } from "./close-codes.js";
import { referralById } from "../referrals/index.js";

/** Changes read from the database at once, live or replayed. */
const PAGE = 500;
/** How often an instance checks that it has heard of every committed batch (a bus message can be lost). */
const CHECK_MS = 1000;
/** A replay waits while this many of its results are unsent (the client reads at its own pace), at most REPLAY_WAIT_MS each time. */
const REPLAY_PENDING = LIMITS.maxPendingEvents / 2;
const REPLAY_WAIT_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `referralChanged`: the change feed, live. The instance follows the committed batches (the bus says
 * when one commits; a check every CHECK_MS catches a lost message) up to its `watermark`, reads each
 * batch's changes once and hands them to the feed's `changed` groups. A subscription with `after`
 * replays from the database every change after it up to the watermark at the moment it joined, while
 * live changes past that are held; then it sends the held ones it has not sent, and is live. Positions
 * decide at the seam, so nothing is sent twice and nothing is skipped.
 */
export class ChangeStream {
  /** The last batch whose changes subscribers joining now get from the live side (earlier ones they replay). */
  private watermark = 0;
  /** The last batch delivered to every `changed` subscriber of this instance. */
  private delivered = 0;
  private incoming: Repeater<FeedBatchMessage> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Batches are delivered one advance after another, in order. */
  private advancing: Promise<void> = Promise.resolve();

  constructor(
    private readonly bus: LiveBus,
    private readonly fanOut: LiveFanOut,
    private readonly changes: ChangeFeedService,
    private readonly db: DataSource,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // Listening first, then reading where the feed is: a batch committed in between is heard of.
    this.incoming = this.bus.feedBatches();
    const incoming = this.incoming;
    this.watermark = this.delivered = await this.changes.lastBatch();
    void (async () => {
      for await (const { batch } of incoming) this.advanceTo(batch);
    })();
    this.timer = setInterval(() => {
      this.changes.lastBatch().then(
        (batch) => this.advanceTo(batch),
        (err) => this.logger.warn({ err }, "could not read the change feed's last batch"),
      );
    }, CHECK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.incoming?.return();
    await this.advancing;
  }

  /** A `referralChanged` subscription, replaying from `after` when given. */
  follow(caller: Caller, request: LiveRequest, after: Position | undefined): Subscriber {
    const { spend } = request;
    const subscriber = this.fanOut.subscribe(caller, "changed", request);
    if (after === undefined) return subscriber;
    const through = this.watermark;
    // What the replay reads from the database (up to `through`) is never held from the live side too.
    const caughtUp = endOfBatch(through);
    subscriber.floor = comparePositions(after, caughtUp) > 0 ? after : caughtUp;
    subscriber.held = [];
    void this.replay(subscriber, after, through, spend).catch((err) => {
      this.logger.error({ err }, "could not replay the change feed to a subscriber");
      subscriber.socket.close(LiveCloseCode.ReplayFailed, "Could not replay changes: reconnect with your last cursor");
    });
    return subscriber;
  }

  /** Whether this instance's placed batches should come with their changes (sequencer.ts): only while anyone listens. */
  get wantsChanges(): boolean {
    return this.incoming !== undefined && this.fanOut.hasSubscribers;
  }

  /** A batch this instance placed, with its changes read in its transaction: nothing to read back when it is next in line. */
  takePlaced(batch: number, changes: readonly ReferralChange[]): void {
    this.advanceTo(batch, changes);
  }

  /**
   * Delivers every batch up to `batch` that this instance has not delivered yet, reading them unless
   * `placed` holds the one batch missing. A delivery that fails is tried again from where it started at
   * the next advance (the check every CHECK_MS): subscribers skip what they were already sent, by position.
   */
  advanceTo(batch: number, placed?: readonly ReferralChange[]): void {
    this.advancing = this.advancing
      .then(async () => {
        // Raised first: a subscriber joining while these are sent replays them from the database.
        if (batch > this.watermark) this.watermark = batch;
        const through = this.watermark;
        if (this.delivered >= through) return;
        if (this.fanOut.hasSubscribers) {
          // Batch numbers follow one another (an empty batch still takes its number).
          if (placed && through === batch && this.delivered === batch - 1) await this.fanOut.deliverChanges(placed, this.loaded(placed));
          else await this.readAndDeliver(through);
        }
        this.delivered = through;
      })
      .catch((err) => this.logger.error({ err }, "could not deliver change feed batches; retried within a second"));
  }

  private async readAndDeliver(through: number): Promise<void> {
    let after: Position = endOfBatch(this.delivered);
    for (;;) {
      const page = await this.changes.read({ partnerId: undefined, after, throughBatch: through, limit: PAGE });
      await this.fanOut.deliverChanges(page, this.loaded(page));
      if (page.length < PAGE) break;
      after = page.at(-1)!.position;
    }
  }

  /**
   * Sends what the subscriber missed, up to batch `through`, then what was held meanwhile. Each page
   * after the first spends a unit of the key's limit, as reading it with `referralChanges` would:
   * over the limit, the subscription ends with RATE_LIMITED, and the client resumes from the last
   * cursor it received once the window allows.
   */
  private async replay(subscriber: Subscriber, after: Position, through: number, spend: LiveRequest["spend"]): Promise<void> {
    const { group } = subscriber;
    let from = after;
    for (let pages = 0; ; pages++) {
      if (subscriber.left) return;
      const refusal = pages === 0 ? undefined : await spend(1);
      if (refusal) return subscriber.end(rateLimitedError(refusal));
      const page = await this.changes.read({ partnerId: partnerScope(group.caller), after: from, throughBatch: through, limit: PAGE });
      const loaders = this.loaded(page);
      for (const change of page) {
        if (!(await this.paced(subscriber))) return;
        send(subscriber, await this.fanOut.render(group, change, loaders));
      }
      if (page.length < PAGE) break;
      from = page.at(-1)!.position;
    }
    const held = subscriber.held ?? [];
    subscriber.held = undefined;
    for (const { position, next } of held) this.fanOut.offer(subscriber, position, next);
  }

  /** Loaders for one page, holding its referrals (read with the changes) for related fields. */
  private loaded(page: readonly ReferralChange[]): Loaders {
    const loaders = createLoaders(this.db);
    for (const change of page) loaders.of(referralById).prime(change.referralId, change.referral);
    return loaders;
  }

  /** Whether the client keeps up: false once it has left, or has not taken its results within REPLAY_WAIT_MS (its socket is then closed). */
  private async paced(subscriber: Subscriber): Promise<boolean> {
    const { socket } = subscriber;
    const deadline = Date.now() + REPLAY_WAIT_MS;
    while (socket.isOpen && !subscriber.left && socket.unsentMessages > REPLAY_PENDING) {
      if (Date.now() >= deadline) {
        socket.close(
          LiveCloseCode.SlowConsumer,
          `Slow consumer: over ${REPLAY_PENDING} replayed events unsent for ${REPLAY_WAIT_MS / 1000} s`,
        );
        return false;
      }
      await sleep(10);
    }
    return socket.isOpen && !subscriber.left;
  }
}
