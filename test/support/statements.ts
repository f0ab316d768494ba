import type { Logger as TypeOrmLogger } from "typeorm";

/** The server's own loops run beside whatever a request or job costs; their statements are tagged (src/db/background.ts). */
const BACKGROUND = /^\/\* background: /;

/** A TypeORM logger that records every statement the data source sends while `recording` is on. */
export class StatementRecorder implements TypeOrmLogger {
  recording = false;
  statements: string[] = [];

  logQuery(query: string): void {
    if (this.recording && !BACKGROUND.test(query)) this.statements.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}

  /** The statements sent while `action` ran. */
  async during(action: () => Promise<unknown>): Promise<string[]> {
    this.statements = [];
    this.recording = true;
    try {
      await action();
    } finally {
      this.recording = false;
    }
    return this.statements;
  }
}
