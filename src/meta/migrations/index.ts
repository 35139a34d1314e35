import { type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * Versioned, portable migrations (SQLite and Postgres), kept in code so the compiled service needs
 * no migration files on disk. Append new ones; never edit a released one.
 */
const migrations: Record<string, Migration> = {
  '0001_assets': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('assets')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(512)', (c) => c.notNull())
        .addColumn('kind', 'varchar(8)', (c) => c.notNull())
        .addColumn('mime_type', 'varchar(64)', (c) => c.notNull())
        .addColumn('ext', 'varchar(8)', (c) => c.notNull())
        .addColumn('width', 'integer', (c) => c.notNull())
        .addColumn('height', 'integer', (c) => c.notNull())
        .addColumn('duration_ms', 'bigint')
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('md5', 'varchar(32)', (c) => c.notNull())
        .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
        .addColumn('blob_key', 'varchar(512)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('assets_blob_key').on('assets').column('blob_key').execute();
      await db.schema.createIndex('assets_created_at').on('assets').columns(['created_at', 'id']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('assets').execute();
    },
  },
  // Placeholders computed at upload (images); absent for videos, HEIC/BMP and older rows.
  '0002_image_placeholders': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('assets').addColumn('thumbhash', 'varchar(64)').execute();
      await db.schema.alterTable('assets').addColumn('dominant_color', 'varchar(7)').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('assets').dropColumn('dominant_color').execute();
      await db.schema.alterTable('assets').dropColumn('thumbhash').execute();
    },
  },
  // Named 0003: 0002 belongs to another branch. Keys are scoped to the principal that sent them.
  '0003_idempotency_keys': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('key', 'varchar(400)', (c) => c.primaryKey())
        .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
        .addColumn('response', 'text')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('idempotency_keys_expires_at').on('idempotency_keys').column('expires_at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('idempotency_keys').execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
