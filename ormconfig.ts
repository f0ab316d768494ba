// The TypeORM data source for the CLI, e.g. `npx typeorm migration:show -d dist/ormconfig.js`.
import "reflect-metadata";
import { loadConfig } from "./src/config.js";
import { createDataSource } from "./src/db/data-source.js";

export default createDataSource(loadConfig().database);
