/** The notifications feature's public entry: what other features may use of it (the rest is its own). */
export { EMAIL_CHANNEL } from "./notification-kind.js";
export { writeDueReminders, writeWebhookDisabledNotices } from "./notification-writer.js";
