import { readFile } from "node:fs/promises";
import { expect } from "chai";
import type { DataSource } from "typeorm";
import { openDatabase } from "../src/db/data-source.js";
import { printAppSchema } from "../src/app/schema.js";
import { testDatabase } from "./support/database.js";
import { ENTITIES } from "../src/app/entities.js";

// From <outDir>/test/ back to the repository root, as `npm run schema` writes it.
const COMMITTED_SCHEMA = new URL("../../schema/schema.graphql", import.meta.url);

describe("schema > the committed GraphQL schema", () => {
  it("is exactly what the code emits", async () => {
    const committed = await readFile(COMMITTED_SCHEMA, "utf8");
    const emitted = await printAppSchema();
    expect(committed === emitted, "schema/schema.graphql is out of date: run `npm run schema` and commit it").to.equal(true);
  });
});

describe("schema > the migrations", () => {
  let db: DataSource;

  before(async function () {
    this.timeout(60_000);
    db = await openDatabase(testDatabase, ENTITIES, { poolSize: 2 });
  });
  after(async () => {
    await db?.destroy();
  });

  it("leave no migration pending", async () => {
    expect(await db.showMigrations()).to.equal(false);
  });

  it("build exactly the tables, columns, indexes and foreign keys the entities describe", async () => {
    const { upQueries } = await db.driver.createSchemaBuilder().log();
    const pending = upQueries.map((query) => query.query);
    expect(pending, `the entities want these changes:\n${pending.join(";\n")}`).to.deep.equal([]);
  });
});
