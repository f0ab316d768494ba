import { expect } from "chai";
import type mysql from "mysql2/promise";
import { ensureDatabase } from "../../src/db/data-source.js";
import { LoopConnection } from "../../src/db/loop-connection.js";
import { testDatabase } from "../support/database.js";
import { lockingConnection } from "../support/locks.js";
import { eventually } from "../support/wait.js";

const TABLE = "loop_connection_test";

describe("database > a loop's own connection", () => {
  let loop: LoopConnection;
  let observer: mysql.Connection;

  before(async () => {
    await ensureDatabase(testDatabase);
    observer = await lockingConnection();
    await observer.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id INT PRIMARY KEY, label VARCHAR(20) NOT NULL)`);
  });
  beforeEach(async () => {
    await observer.query(`DELETE FROM ${TABLE}`);
    const { host, port, user, password, database } = testDatabase;
    loop = new LoopConnection({ host, port, user, password, database, multipleStatements: true }, "loop-test");
  });
  afterEach(() => loop.close());
  after(async () => {
    if (!observer) return;
    await observer.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await observer.end();
  });

  const rows = async () => (await observer.query(`SELECT id, label FROM ${TABLE} ORDER BY id`))[0];

  it("answers each of several statements sent together, values as parameters", async () => {
    const answers = await loop.transaction(async (q) => {
      const [inserted, selected] = await q.batch([
        [`INSERT INTO ${TABLE} (id, label) VALUES (?, ?)`, [1, "it's one"]],
        [`SELECT label FROM ${TABLE} WHERE id = ?`, [1]],
      ]);
      return {
        last: [[`UPDATE ${TABLE} SET label = ? WHERE id = ?`, ["one; DROP", 1]]],
        finish: (last) => [inserted.affectedRows, selected, last[0].affectedRows],
      };
    });
    expect(answers).to.deep.equal([1, [{ label: "it's one" }], 1]);
    expect(await rows()).to.deep.equal([{ id: 1, label: "one; DROP" }]);
  });

  it("commits nothing before its last round trip, and rolls everything back when the work throws", async () => {
    let seenMeanwhile: unknown;
    const failed = await loop
      .transaction(async (q) => {
        await q.query(`INSERT INTO ${TABLE} (id, label) VALUES (2, 'two')`);
        seenMeanwhile = await rows();
        throw new Error("changed its mind");
      })
      .catch((error: Error) => error.message);
    expect(failed).to.equal("changed its mind");
    expect(seenMeanwhile, "another connection sees nothing uncommitted").to.deep.equal([]);
    expect(await rows()).to.deep.equal([]);
  });

  it("reads under READ COMMITTED: a later statement of the same transaction sees what others committed meanwhile", async () => {
    const seen = await loop.transaction(async (q) => {
      const before = await q.query(`SELECT COUNT(*) AS n FROM ${TABLE}`);
      await observer.query(`INSERT INTO ${TABLE} (id, label) VALUES (3, 'three')`);
      const after = await q.query(`SELECT COUNT(*) AS n FROM ${TABLE}`);
      return { finish: () => [Number(before[0].n), Number(after[0].n)] };
    });
    expect(seen).to.deep.equal([0, 1]);
  });

  it("opens a new connection at the next use when its connection was killed", async () => {
    const [{ id }] = await loop.query("SELECT CONNECTION_ID() AS id");
    await observer.query("KILL CONNECTION ?", [id]);
    await eventually("the next statement runs on a new connection", async () => {
      const [{ id: now }] = await loop.query("SELECT CONNECTION_ID() AS id").catch(() => [{ id }]);
      return now !== id;
    });
  });

  it("tags every statement with the loop's name", async () => {
    const [{ info }] = await loop.query("SELECT INFO AS info FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()");
    expect(info).to.match(/^\/\* background: loop-test \*\/ SELECT/);
  });
});
