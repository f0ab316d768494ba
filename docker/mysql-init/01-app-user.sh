#!/bin/sh
# Run once by the MySQL image, as it initialises an empty data directory (MySQL's root account, on
# the local socket): the app's database, and the account the app connects with, which may use that
# database only, with the rights its queries and migrations need: rows (SELECT, INSERT, UPDATE,
# DELETE) and schema changes (CREATE, ALTER, INDEX, REFERENCES for foreign keys). No DROP (the
# app never drops a table; reverting a migration is an operator's job, as root), no rights on any
# other database, no global rights.

: "${APP_DATABASE:?}" "${APP_DATABASE_USER:?}" "${APP_DATABASE_PASSWORD:?}"
mysql --user=root --password="$MYSQL_ROOT_PASSWORD" <<SQL
CREATE DATABASE IF NOT EXISTS \`$APP_DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$APP_DATABASE_USER'@'%' IDENTIFIED BY '$APP_DATABASE_PASSWORD';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES ON \`$APP_DATABASE\`.* TO '$APP_DATABASE_USER'@'%';
SQL
