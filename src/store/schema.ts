/**
 * Versioned schema; each migration is applied once, in order, on open, and
 * recorded in `schema_version`. Never edit a released migration: add one.
 */
export const MIGRATIONS: Array<{ version: number; sqlite: string; postgres: string }> = [
  {
    version: 1,
    sqlite: `
      CREATE TABLE resources (path TEXT PRIMARY KEY, sealed BLOB NOT NULL, size INTEGER NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE policies (name TEXT PRIMARY KEY, text TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE reference_values (name TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE secret_meta (key TEXT PRIMARY KEY, sealed BLOB NOT NULL);
      CREATE TABLE sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL);
      CREATE INDEX sessions_expiry ON sessions (expires_at);
      CREATE TABLE audit (seq INTEGER PRIMARY KEY, time TEXT NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL, record TEXT NOT NULL, hash TEXT NOT NULL);
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
    `,
    postgres: `
      CREATE TABLE resources (path TEXT PRIMARY KEY, sealed BYTEA NOT NULL, size INTEGER NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE policies (name TEXT PRIMARY KEY, text TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE reference_values (name TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE secret_meta (key TEXT PRIMARY KEY, sealed BYTEA NOT NULL);
      CREATE TABLE sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at BIGINT NOT NULL);
      CREATE INDEX sessions_expiry ON sessions (expires_at);
      CREATE TABLE audit (seq BIGINT PRIMARY KEY, time TEXT NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL, record TEXT NOT NULL, hash TEXT NOT NULL);
      CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit is append-only'; END $$;
      CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
    `,
  },
  {
    version: 2,
    sqlite: `CREATE TABLE manifests (version INTEGER PRIMARY KEY, digest TEXT NOT NULL, text TEXT NOT NULL, signatures TEXT NOT NULL, created_at TEXT NOT NULL);`,
    postgres: `CREATE TABLE manifests (version INTEGER PRIMARY KEY, digest TEXT NOT NULL, text TEXT NOT NULL, signatures TEXT NOT NULL, created_at TEXT NOT NULL);`,
  },
  {
    // Sessions sealed like everything else that may hold a credential (the
    // attestation token). Sessions live minutes: dropping them costs a re-auth.
    version: 3,
    sqlite: `
      DROP TABLE sessions;
      CREATE TABLE sessions (id TEXT PRIMARY KEY, sealed BLOB NOT NULL, expires_at INTEGER NOT NULL);
      CREATE INDEX sessions_expiry ON sessions (expires_at);
    `,
    postgres: `
      DROP TABLE sessions;
      CREATE TABLE sessions (id TEXT PRIMARY KEY, sealed BYTEA NOT NULL, expires_at BIGINT NOT NULL);
      CREATE INDEX sessions_expiry ON sessions (expires_at);
    `,
  },
  {
    // The newest record's seq and hash under a MAC of the sealing key: removing records from the end is detectable.
    version: 4,
    sqlite: `CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL, mac TEXT NOT NULL);`,
    postgres: `CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL, mac TEXT NOT NULL);`,
  },
  {
    // Refusals and challenges anyone can trigger are counted per hour, source, kind, outcome and code, outside the
    // hash chain: retention can delete old hours without breaking it, and a flood grows a count, not the log.
    version: 5,
    sqlite: `
      CREATE TABLE audit_counts (hour TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT NOT NULL,
        count INTEGER NOT NULL, first_time TEXT NOT NULL, last_time TEXT NOT NULL, sample TEXT, PRIMARY KEY (hour, source, kind, outcome, code));
    `,
    postgres: `
      CREATE TABLE audit_counts (hour TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT NOT NULL,
        count BIGINT NOT NULL, first_time TEXT NOT NULL, last_time TEXT NOT NULL, sample TEXT, PRIMARY KEY (hour, source, kind, outcome, code));
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
