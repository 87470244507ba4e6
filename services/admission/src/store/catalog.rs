//! The copy of the booking events catalog in admission's Redis, which
//! every pass-checking service follows (`yeyak_platform::sessions::catalog`).
use yeyak_platform::sessions::{catalog, Catalog};

use super::{QueueStore, StoreError};

impl QueueStore {
    /// The copy's version; `None` when Redis holds none (fresh or lost).
    pub(crate) async fn catalog_version(&self) -> Result<Option<i64>, StoreError> {
        Ok(catalog::version(&self.conn, &self.prefix).await?)
    }

    /// Replaces the copy unless Redis holds this version or a newer one.
    pub(crate) async fn publish_catalog(&self, events: &Catalog) -> Result<bool, StoreError> {
        Ok(catalog::publish(&self.conn, &self.prefix, events).await?)
    }
}
