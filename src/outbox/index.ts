/** The outbox feature's public entry: what other features may use of it (the rest is its own). */
export { DeliveryFailure, RELAY_POLL_MS } from "./channel.js";
export type { DeliveryResult, OutboxChannel } from "./channel.js";
export { DELIVERY_DEADLINE_MS } from "./lease.js";
export { DeliveryStatus, OutboxMessage } from "./outbox-message.entity.js";
export type { OutboxRelay } from "./outbox-relay.js";
