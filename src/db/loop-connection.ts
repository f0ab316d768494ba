import mysql from "mysql2/promise";
import type { DataSource } from "typeorm";
import { backgroundTag } from "./background.js";
import { PREPARED_STATEMENTS } from "./pool.js";
import type { Queryable } from "./entity-rows.js";

/** A statement and its parameters. */
export type Statement = [sql: string, parameters?: unknown[]];

/** A transaction on a loop's own connection; `batch` sends several statements in one round trip. */
export interface LoopTransaction extends Queryable {
  // biome-ignore lint/suspicious/noExplicitAny: rows are typed by each caller, as with query().
  batch(statements: Statement[]): Promise<any[]>;
}

/** What the data source's connections are made with (its MySQL options). */
interface PoolOptions {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  database?: string;
  charset?: string;
  timezone?: string;
}

/** How a transaction ends: the statements sent with its COMMIT, and its result from their answers. */
export interface TransactionEnd<T> {
  last?: Statement[];
  // biome-ignore lint/suspicious/noExplicitAny: one answer per statement of `last`.
  finish(answers: any[]): T;
}

/** How long closing waits for the server's goodbye before dropping the connection. */
const CLOSE_WAIT_MS = 1000;

/**
 * A background loop's connection of its own, outside the pool: READ COMMITTED is set once for the
 * session, START TRANSACTION travels with the transaction's first statements and COMMIT with its last
 * (several statements per round trip: the loop's own SQL, every value a parameter). The change
 * sequencer places every batch through one, because its transaction lies on the path of every live
 * event and each round trip it saves is felt there. A connection that breaks is dropped and opened
 * again at the next use.
 */
export class LoopConnection {
  private connection: Promise<mysql.Connection> | undefined;
  private readonly tag: string;

  constructor(
    private readonly options: mysql.ConnectionOptions,
    loop: string,
  ) {
    this.tag = backgroundTag(loop);
  }

  /** A connection to the data source's database, as its pool's connections are made (UTC, big numbers as strings). */
  static to(db: DataSource, loop: string): LoopConnection {
    const { host, port, username, password, database, charset, timezone } = db.options as PoolOptions;
    const options = {
      host,
      port,
      user: username,
      password,
      database,
      charset,
      timezone,
      supportBigNumbers: true,
      bigNumberStrings: true,
      trace: false,
      maxPreparedStatements: PREPARED_STATEMENTS,
    };
    return new LoopConnection({ ...options, multipleStatements: true }, loop);
  }

  /** One statement, outside any transaction. */
  // biome-ignore lint/suspicious/noExplicitAny: rows are typed by each caller.
  async query(sql: string, parameters?: unknown[]): Promise<any> {
    const [result] = await this.send([[sql, parameters]]);
    return result;
  }

  /**
   * Runs `work` in one READ COMMITTED transaction, begun with its first round trip and committed with
   * the statements `work` leaves for the end (`last`); `finish` shapes the result from what those
   * answered. Rolled back when anything throws.
   */
  async transaction<T>(work: (q: LoopTransaction) => Promise<TransactionEnd<T>>): Promise<T> {
    let begun = false;
    const batch = async (statements: Statement[]) => {
      if (begun) return this.send(statements);
      begun = true;
      return (await this.send([["START TRANSACTION"], ...statements])).slice(1);
    };
    const q: LoopTransaction = { batch, query: async (sql, parameters) => (await batch([[sql, parameters as unknown[]]]))[0] };
    try {
      const { last = [], finish } = await work(q);
      const answers = begun || last.length > 0 ? await batch([...last, ["COMMIT"]]) : [];
      return finish(answers.slice(0, last.length));
    } catch (error) {
      if (begun) await this.send([["ROLLBACK"]]).catch(() => this.drop());
      throw error;
    }
  }

  async close(): Promise<void> {
    const opened = this.connection;
    this.connection = undefined;
    const connection = await opened?.catch(() => undefined);
    if (!connection) return;
    const timer = setTimeout(() => connection.destroy(), CLOSE_WAIT_MS);
    await connection.end().catch(() => connection.destroy());
    clearTimeout(timer);
  }

  // biome-ignore lint/suspicious/noExplicitAny: one result per statement.
  private async send(statements: Statement[]): Promise<any[]> {
    const connection = await this.open();
    const sql = statements.map(([text, parameters]) => `${this.tag} ${connection.format(text, parameters ?? [])}`).join(";\n");
    try {
      const [results] = await connection.query(sql);
      return statements.length === 1 ? [results] : (results as unknown[]);
    } catch (error) {
      if ((error as { fatal?: boolean }).fatal) this.drop();
      throw error;
    }
  }

  private open(): Promise<mysql.Connection> {
    this.connection ??= (async () => {
      const connection = await mysql.createConnection(this.options);
      // A broken connection is reported here as well as to the statement that failed: dropped, not fatal.
      connection.on("error", () => this.drop());
      await connection.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
      return connection;
    })();
    this.connection.catch(() => this.drop());
    return this.connection;
  }

  private drop(): void {
    const dropped = this.connection;
    this.connection = undefined;
    void dropped?.then((connection) => connection.destroy()).catch(() => undefined);
  }
}
