//! The status lookup. Support staff see any delivery, and each of their
//! lookups is an audit event written before the answer leaves (no record,
//! no answer). A person sees the deliveries of reservations they are the
//! subject or the booking agent of, as reservation lets them read those
//! reservations; anything else is `NotFound`, exactly like a reference that
//! does not exist, so nobody can probe whether someone else booked.
use chrono::Utc;
use yeyak_platform::{
    grpc::VerifiedPass,
    operators::{self, OperatorIdentity, Role},
    tokens::TokenError,
};

use super::Deliveries;
use crate::{
    domain::{DeliveryRecord, Lookup},
    error::Error,
};

/// The action support lookups are audited as.
pub(crate) const STATUS_ACTION: &str = "notification.get_delivery_status";

impl Deliveries {
    /// Any delivery, for an operator holding the `support` role. Unknown
    /// references answer an empty list: nothing was sent for them.
    pub(crate) async fn status_for_staff(&self, staff: &OperatorIdentity, lookup: Lookup) -> Result<Vec<DeliveryRecord>, Error> {
        staff.require(Role::Support, STATUS_ACTION)?;
        let records = self.store.lookup(&lookup, None).await?;
        let found = format!("{} deliveries", records.len());
        let event = operators::audit(staff, STATUS_ACTION, &lookup.to_string(), None, Some(&found));
        self.store.record_audit(&event).await?;
        Ok(records)
    }

    /// The caller's own deliveries: `pass` verified by the handler,
    /// `assertion` obtained under it.
    pub(crate) async fn status_for_person(
        &self,
        pass: &VerifiedPass,
        assertion: &str,
        lookup: Lookup,
    ) -> Result<Vec<DeliveryRecord>, Error> {
        let reader = self.reader(pass, assertion).await?;
        let records = self.store.lookup(&lookup, Some(&reader)).await?;
        if records.is_empty() {
            return Err(Error::NotFound);
        }
        Ok(records)
    }

    /// The pseudonymous subject id of a verified assertion that belongs to
    /// the caller's own admission session: one copied from another session
    /// is refused, as reservation refuses it.
    async fn reader(&self, pass: &VerifiedPass, token: &str) -> Result<String, Error> {
        let assertion = self.assertions.verify(token, Utc::now().timestamp()).await.map_err(Error::BadAssertion)?;
        if assertion.subject.is_empty() {
            return Err(Error::BadAssertion(TokenError::Malformed));
        }
        if assertion.session_id != pass.pass.session_id {
            return Err(Error::ForeignAssertion);
        }
        Ok(assertion.subject)
    }
}
