//! RPC handlers: `queue` serves citizens, `operator` serves operators. Each
//! validates its request, calls one `WaitingRoom` use case and maps the
//! result to protobuf; `status` maps the use-case error to gRPC status.
mod events;
mod operator;
mod queue;
mod status;

pub(crate) use operator::OperatorApi;
pub(crate) use queue::QueueApi;
