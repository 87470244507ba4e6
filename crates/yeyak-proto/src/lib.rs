//! Generated gRPC contracts of every Yeyak bounded context.
//!
//! The code is generated at build time from `proto/` and never committed, so
//! the protos stay the single source of truth.
#![forbid(unsafe_code)]
#![allow(clippy::all, missing_docs)]

/// Encoded `FileDescriptorSet` of every Yeyak proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/yeyak_descriptor.bin"));

pub mod admission {
    pub mod v1 {
        tonic::include_proto!("yeyak.admission.v1");
    }
}
pub mod identity {
    pub mod v1 {
        tonic::include_proto!("yeyak.identity.v1");
    }
}
pub mod eligibility {
    pub mod v1 {
        tonic::include_proto!("yeyak.eligibility.v1");
    }
}
pub mod inventory {
    pub mod v1 {
        tonic::include_proto!("yeyak.inventory.v1");
    }
}
pub mod reservation {
    pub mod v1 {
        tonic::include_proto!("yeyak.reservation.v1");
    }
}
pub mod notification {
    pub mod v1 {
        tonic::include_proto!("yeyak.notification.v1");
    }
}
pub mod keys {
    pub mod v1 {
        tonic::include_proto!("yeyak.keys.v1");
    }
}
pub mod events {
    pub mod v1 {
        tonic::include_proto!("yeyak.events.v1");

        /// The routing key of every event above, declared once: publishers
        /// and consumers name these constants, never the strings.
        pub mod routing {
            /// [`super::ReservationConfirmed`].
            pub const RESERVATION_CONFIRMED: &str = "reservation.confirmed.v1";
            /// [`super::ReservationCancelled`].
            pub const RESERVATION_CANCELLED: &str = "reservation.cancelled.v1";
            /// [`super::ReservationRescheduled`].
            pub const RESERVATION_RESCHEDULED: &str = "reservation.rescheduled.v1";
            /// [`super::SlotResized`].
            pub const SLOT_RESIZED: &str = "inventory.slot_resized.v1";
            /// [`super::SupplyChanged`].
            pub const SUPPLY_CHANGED: &str = "inventory.supply_changed.v1";
            /// Every reservation event, for consumers that follow a booking's life.
            pub const RESERVATION_EVENTS: [&str; 3] = [RESERVATION_CONFIRMED, RESERVATION_CANCELLED, RESERVATION_RESCHEDULED];
        }
    }
}

pub mod time;
