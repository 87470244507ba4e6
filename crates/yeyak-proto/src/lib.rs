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
pub mod events {
    pub mod v1 {
        tonic::include_proto!("yeyak.events.v1");
    }
}

/// Converts between `prost_types::Timestamp` and `chrono`-free unix seconds;
/// kept here so every service converts instants the same way.
pub fn timestamp(unix_seconds: i64, nanos: i32) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: unix_seconds, nanos }
}
