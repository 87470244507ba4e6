//! A reservation event, as the booked set needs it: the bookings consumer
//! decodes one from the bus, the use case hands it to the store, which
//! applies it once.

/// A change of the booked set (subject + dose → reservation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BookingEvent {
    Confirmed {
        event_id: String,
        reservation_id: String,
        subject_id: String,
        dose: u32,
    },
    Cancelled {
        event_id: String,
        reservation_id: String,
        subject_id: String,
        dose: u32,
    },
    /// The booking is kept (another slot); only the cache is dropped.
    Rescheduled {
        event_id: String,
        subject_id: String,
    },
}
