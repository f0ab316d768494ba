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
