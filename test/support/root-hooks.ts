// Loaded by mocha before every run (.mocharc.json): a fresh test database and an empty job store.
import "reflect-metadata";
import { dropTestDatabase, testDatabase } from "./database.js";
import { purgeNamespace } from "./redis.js";

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    await dropTestDatabase();
    await purgeNamespace(testDatabase.database);
  },
};
