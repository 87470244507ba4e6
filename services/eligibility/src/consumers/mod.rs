//! Inbound bus events: reservation events keep the booked set current
//! (`bookings`). `bookings::QUEUE` is public for the deployments (and tests)
//! that clean up their RabbitMQ namespace.
pub mod bookings;
