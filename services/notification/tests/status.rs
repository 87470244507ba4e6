//! GetDeliveryStatus input validation names the offending field, booking
//! codes that do not check out included. Validation comes before the
//! credentials (it reveals nothing), so these need none.
#![allow(clippy::unwrap_used)]
mod common;

use common::TestApp;
use tonic::Code;
use uuid::Uuid;
use yeyak_platform::grpc::status::field_violations;
use yeyak_proto::notification::v1 as pb;

#[tokio::test]
async fn validation_errors_name_the_field() {
    let app = TestApp::spawn().await;
    let id = Uuid::new_v4().to_string();
    let cases = [
        ("", "", "", "reservation_id"),
        (id.as_str(), "", id.as_str(), "message_id"),
        (id.as_str(), "K7MX-4QPW", "", "booking_code"),
        ("", "K7MX-4QPW", id.as_str(), "message_id"),
        ("not-a-uuid", "", "", "reservation_id"),
        ("", "", "not-a-uuid", "message_id"),
        // A wrong check character, two characters swapped, a character codes never use, too short.
        ("", "K7MX-4QPA", "", "booking_code"),
        ("", "K7MX-4QWP", "", "booking_code"),
        ("", "K7MO-4QPW", "", "booking_code"),
        ("", "K7MX-4QP", "", "booking_code"),
    ];
    for (reservation_id, booking_code, message_id, field) in cases {
        let req = pb::GetDeliveryStatusRequest {
            reservation_id: reservation_id.into(),
            booking_code: booking_code.into(),
            message_id: message_id.into(),
            ..Default::default()
        };
        let err = app.client.clone().get_delivery_status(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{reservation_id:?}/{booking_code:?}/{message_id:?}");
        assert_eq!(field_violations(&err), vec![field.to_string()], "{reservation_id:?}/{booking_code:?}/{message_id:?}");
    }

    // Unknown ids are not errors for support staff: nothing was sent for them.
    assert!(app.by_reservation(Uuid::new_v4()).await.is_empty());
    let req = pb::GetDeliveryStatusRequest { message_id: id, ..Default::default() };
    assert!(app.as_support(req).await.unwrap().is_empty());
    assert!(app.by_booking_code("K7MX-4QPW").await.unwrap().is_empty(), "a valid code nobody has");
    app.stop().await;
}
