//! The tables the messaging plumbing owns inside each service's database,
//! defined once here (`crates/yeyak-platform/migrations/`) and applied by
//! every owning service together with its own migrations, so the outbox the
//! relay reads and the inbox the consumers write can never drift apart
//! between services.
use std::borrow::Cow;

use sqlx::{
    migrate::{MigrateError, Migration, Migrator},
    PgPool,
};

static OUTBOX: Migrator = sqlx::migrate!("migrations/outbox");
static INBOX: Migrator = sqlx::migrate!("migrations/inbox");

/// A platform-owned table a service keeps in its own database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// `outbox`: events waiting for the relay ([`super::outbox`]).
    Outbox,
    /// `processed_events`: event ids already handled ([`super::inbox`]).
    Inbox,
}

impl Table {
    fn migrator(self) -> &'static Migrator {
        match self {
            Table::Outbox => &OUTBOX,
            Table::Inbox => &INBOX,
        }
    }
}

/// The service's migrations merged with the platform tables it uses, in
/// version order. The platform's versions (2020-01-01) sort before every
/// service's dated migrations and after reservation's `0001`/`0002`; the
/// tables depend on nothing, so either order is sound.
pub fn migrator(service: &Migrator, tables: &[Table]) -> Migrator {
    let mut all: Vec<Migration> = service.migrations.to_vec();
    for table in tables {
        all.extend(table.migrator().migrations.iter().cloned());
    }
    all.sort_by_key(|m| m.version);
    Migrator { migrations: Cow::Owned(all), ..Migrator::DEFAULT }
}

/// Runs the service's migrations and the platform tables it uses.
pub async fn migrate(pool: &PgPool, service: &Migrator, tables: &[Table]) -> Result<(), MigrateError> {
    migrator(service, tables).run(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_versions_are_distinct_and_merge_in_order() {
        let merged = migrator(&Migrator::DEFAULT, &[Table::Inbox, Table::Outbox]);
        let versions: Vec<i64> = merged.iter().map(|m| m.version).collect();
        assert_eq!(versions, vec![20200101000001, 20200101000002]);
        assert!(merged.iter().any(|m| m.sql.contains("CREATE TABLE outbox")));
        assert!(merged.iter().any(|m| m.sql.contains("CREATE TABLE processed_events")));
    }
}
