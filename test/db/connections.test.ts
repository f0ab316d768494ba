import { expect } from "chai";
import { ENTITIES } from "../../src/app/entities.js";
import { createDataSource, ensureDatabase } from "../../src/db/data-source.js";
import { testDatabase } from "../support/database.js";

describe("db > pooled connections", () => {
  it("hold a small prepared-statement cache and take no stack trace per query", async () => {
    await ensureDatabase(testDatabase);
    const db = createDataSource(testDatabase, ENTITIES);
    await db.initialize();
    const runner = db.createQueryRunner();
    try {
      const connection = (await runner.connect()) as { config: { maxPreparedStatements: number; trace: boolean } };
      // mysql2's default, 16,000, preallocates half a megabyte per connection for statements the server never prepares.
      expect(connection.config.maxPreparedStatements).to.equal(16);
      expect(connection.config.trace).to.equal(false);
    } finally {
      await runner.release();
      await db.destroy();
    }
  });
});

describe("db > opening the database", () => {
  it("refuses a server that hands out AUTO_INCREMENT keys in steps other than 1, naming the setting", async () => {
    // Multi-row inserts number their rows from the statement's first key (entity-rows.ts).
    const db = createDataSource(testDatabase, ENTITIES);
    await db.initialize();
    try {
      await db.query("SET GLOBAL auto_increment_increment = 2");
      try {
        await ensureDatabase(testDatabase);
        expect.fail("ensureDatabase accepted a step of 2");
      } catch (error) {
        expect(String(error)).to.include("steps of 2").and.include("auto_increment_increment = 1");
      }
    } finally {
      await db.query("SET GLOBAL auto_increment_increment = 1");
      await db.destroy();
    }
    expect(await ensureDatabase(testDatabase)).to.be.oneOf(["mariadb", "mysql"]);
  });
});
