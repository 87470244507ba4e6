//! gRPC plumbing: the server stack every service runs behind, channels for
//! outbound calls, the admission-pass check and status helpers.
pub mod client;
mod in_flight;
mod incoming;
pub mod key_set;
pub mod layer;
pub mod pass;
pub mod pass_layer;
pub mod server;
pub mod status;

pub use key_set::KeySetApi;
pub use pass::{PassVerifier, VerifiedPass, CLIENT_ID_HEADER, PASS_HEADER};
pub use pass_layer::PassLayer;
pub use server::{GrpcServer, Ready, LIVENESS};
