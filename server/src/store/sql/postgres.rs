//! The SQL store's statements (`impls/`), compiled for PostgreSQL.

type Db = sqlx::Postgres;

#[allow(clippy::duplicate_mod)] // the same statements, once per database: see `sql/mod.rs`
#[path = "impls/mod.rs"]
mod impls;
