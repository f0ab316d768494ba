import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  messageId: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** When the server accepted it (Date.now()). */
  acceptedAt: number;
}

/**
 * A real SMTP server (smtp-server) on 127.0.0.1 that keeps what it accepts. `refuse` makes it answer
 * every recipient with a permanent error; `stop` and `start` take it down and back on the same port.
 */
export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  refuse = false;
  private server: SMTPServer | undefined;

  private constructor(public port: number) {}

  static async start(port = 0): Promise<TestSmtpServer> {
    const smtp = new TestSmtpServer(port);
    await smtp.start();
    return smtp;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onRcptTo: (_address, _session, callback) =>
        callback(this.refuse ? Object.assign(new Error("mailbox unavailable"), { responseCode: 550 }) : undefined),
      onData: (stream, _session, callback) => {
        let acceptedAt = 0;
        stream.once("end", () => (acceptedAt = Date.now()));
        simpleParser(stream)
          .then((mail) => {
            this.received.push({
              messageId: mail.messageId ?? "",
              from: mail.from?.text ?? "",
              to: Array.isArray(mail.to) ? mail.to.map((to) => to.text).join(", ") : (mail.to?.text ?? ""),
              subject: mail.subject ?? "",
              text: mail.text ?? "",
              html: typeof mail.html === "string" ? mail.html : "",
              acceptedAt,
            });
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** What was received for `address`. */
  to(address: string): ReceivedMail[] {
    return this.received.filter((mail) => mail.to.includes(address));
  }
}
