//! The SQL store's statements (`impls/`), compiled for SQLite.

type Db = sqlx::Sqlite;

#[allow(clippy::duplicate_mod)] // the same statements, once per database: see `sql/mod.rs`
#[path = "impls/mod.rs"]
mod impls;
