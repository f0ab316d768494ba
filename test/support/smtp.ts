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
  /** When the server had it all (Date.now()), before its answer. */
  acceptedAt: number;
}

/**
 * A real SMTP server (smtp-server) on 127.0.0.1 that keeps what it accepts. `refuse` makes it answer
 * every recipient with a permanent error; `stepDelayMs` makes it slow; `stop` and `start` take it down
 * and back on the same port.
 */
export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  refuse = false;
  /**
   * How long it takes to answer each step (the greeting, MAIL FROM, RCPT TO, the end of DATA). A message
   * is accepted when its DATA is answered, and only if the client is still there to hear it.
   */
  stepDelayMs = 0;
  /** The most connections it has had open at once. */
  mostConnections = 0;
  private connections = 0;
  private readonly closedSessions = new Set<string>();
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
      onConnect: (_session, callback) => {
        this.connections += 1;
        this.mostConnections = Math.max(this.mostConnections, this.connections);
        this.afterStep(() => callback());
      },
      onClose: (session) => {
        this.connections -= 1;
        this.closedSessions.add(session.id);
      },
      onMailFrom: (_address, _session, callback) => this.afterStep(() => callback()),
      onRcptTo: (_address, _session, callback) =>
        this.afterStep(() => callback(this.refuse ? Object.assign(new Error("mailbox unavailable"), { responseCode: 550 }) : undefined)),
      onData: (stream, session, callback) => {
        let acceptedAt = 0;
        stream.once("end", () => (acceptedAt = Date.now()));
        simpleParser(stream)
          .then((mail) =>
            this.afterStep(() => {
              if (this.closedSessions.has(session.id)) return callback(new Error("the client is gone"));
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
            }),
          )
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

  /** Runs `answer` once the step has taken `stepDelayMs`. */
  private afterStep(answer: () => void): void {
    if (this.stepDelayMs > 0) setTimeout(answer, this.stepDelayMs);
    else answer();
  }

  /** What was received for `address`. */
  to(address: string): ReceivedMail[] {
    return this.received.filter((mail) => mail.to.includes(address));
  }
}
