// The TypeORM data source for the CLI, e.g. `npx typeorm migration:show -d dist/ormconfig.js`.
import "reflect-metadata";
import { loadConfig } from "./src/config/config.js";
import { createDataSource, ensureDatabase } from "./src/db/data-source.js";
import { ENTITIES } from "./src/app/entities.js";

const { database } = loadConfig();
// TypeORM reads MariaDB's catalog differently from MySQL's: tell it which one this is.
export default createDataSource(database, ENTITIES, { flavour: await ensureDatabase(database) });
