// Loaded by mocha before every run (.mocharc.json): one fresh test database, migrated once.
import "reflect-metadata";
import { dropTestDatabase } from "./database.js";

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    await dropTestDatabase();
  },
};
