//! End to end, against real PostgreSQL, Redis and RabbitMQ: the whole stack
//! in this process on port 0, driven only through public gRPC APIs.
use std::time::Duration;

use tonic::{transport::Channel, Code};
use yeyak_e2e::stack::Stack;
use yeyak_platform::grpc::{client, status::field_violations, CLIENT_ID_HEADER, PASS_HEADER};
use yeyak_proto::{
    admission::v1 as adm, eligibility::v1 as elig, identity::v1 as idn, inventory::v1 as inv, notification::v1 as ntf,
    reservation::v1 as res,
};

const IDENTITY: &str = idn::identity_service_server::SERVICE_NAME;
const ELIGIBILITY: &str = elig::eligibility_service_server::SERVICE_NAME;
const RESERVATION: &str = res::reservation_service_server::SERVICE_NAME;

fn ch(addr: &str) -> Channel {
    client::channel(addr, &client::ClientSettings::default()).expect("channel")
}

async fn sms_count(gateway: &str, phone: &str) -> usize {
    let body: serde_json::Value =
        reqwest::get(format!("{gateway}/v1/messages?to={phone}")).await.expect("gateway").json().await.expect("json");
    body["messages"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn books_one_appointment_and_the_gateway_records_exactly_one_sms() {
    let stack = Stack::start(2_000).await.expect("stack starts");
    let person = stack.bookable_person(0);
    let outcome = yeyak_dev::demo::run(&stack.endpoints, &person, &|line| println!("{line}")).await.expect("demo booking");
    assert_eq!(outcome.sms_texts.len(), 1, "{:?}", outcome.sms_texts);
    assert_eq!(outcome.pass_after_booking, tonic::Code::Unauthenticated, "the booking ended the session and its pass");
    assert!(outcome.sms_texts[0].contains(&format!("예약번호 {}", outcome.booking_code)), "{}", outcome.sms_texts[0]);
    // Give a duplicate every chance to show up before counting again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sms_count(&stack.endpoints.sms_gateway_url, &person.phone).await, 1);
    stack.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_service_is_serving_and_lists_its_services_through_reflection() {
    use tokio_stream::StreamExt as _;
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
        server_reflection_response::MessageResponse, ServerReflectionRequest,
    };
    let stack = Stack::start(100).await.expect("stack starts");
    let e = &stack.endpoints;
    for (addr, expected) in [
        (&e.admission, "yeyak.admission.v1.AdmissionService"),
        (&e.identity, "yeyak.identity.v1.IdentityService"),
        (&e.eligibility, "yeyak.eligibility.v1.EligibilityService"),
        (&e.inventory, "yeyak.inventory.v1.InventoryService"),
        (&e.reservation, "yeyak.reservation.v1.ReservationService"),
        (&e.notification, "yeyak.notification.v1.NotificationService"),
    ] {
        let mut health = tonic_health::pb::health_client::HealthClient::new(ch(addr));
        for service in ["", expected] {
            let status =
                health.check(tonic_health::pb::HealthCheckRequest { service: service.into() }).await.expect("health").into_inner().status;
            assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32, "{expected} {service:?}");
        }
        let request = ServerReflectionRequest { host: String::new(), message_request: Some(MessageRequest::ListServices(String::new())) };
        let mut stream = ServerReflectionClient::new(ch(addr))
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .expect("reflection")
            .into_inner();
        let Some(Ok(reply)) = stream.next().await else { panic!("no reflection reply from {expected}") };
        let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else { panic!("unexpected reply") };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        assert!(names.iter().any(|n| n == expected), "{names:?}");
        assert!(names.iter().any(|n| n == "grpc.health.v1.Health"), "{names:?}");
    }
    stack.stop().await.expect("clean stop");
}

fn with_pass<T>(msg: T, pass: &str, client_id: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if !pass.is_empty() {
        r.metadata_mut().insert(PASS_HEADER, pass.parse().expect("ascii"));
    }
    r.metadata_mut().insert(CLIENT_ID_HEADER, client_id.parse().expect("ascii"));
    r
}

fn assert_field(result: Result<impl std::fmt::Debug, tonic::Status>, field: &str) {
    let status = result.expect_err("must be rejected");
    assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
    assert_eq!(field_violations(&status), vec![field.to_string()], "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_requests_get_invalid_argument_naming_the_field_and_no_pass_means_unauthenticated() {
    let stack = Stack::start(100).await.expect("stack starts");
    let e = &stack.endpoints;
    let client_id = format!("e2e-{}", uuid::Uuid::new_v4().simple());
    let mut queue = adm::admission_service_client::AdmissionServiceClient::new(ch(&e.admission));
    assert_field(
        queue
            .join_queue(adm::JoinQueueRequest {
                queue_id: "demo".into(),
                client_id: "short".into(),
                existing_ticket: String::new(),
                ..Default::default()
            })
            .await,
        "client_id",
    );
    let joined = queue
        .join_queue(adm::JoinQueueRequest {
            queue_id: "demo".into(),
            client_id: client_id.clone(),
            existing_ticket: String::new(),
            ..Default::default()
        })
        .await
        .expect("join")
        .into_inner();
    let mut pass = String::new();
    for _ in 0..100 {
        let status = queue
            .get_queue_status(adm::GetQueueStatusRequest { ticket: joined.ticket.clone(), client_id: client_id.clone() })
            .await
            .expect("status")
            .into_inner()
            .status
            .expect("status");
        if !status.admission_pass.is_empty() {
            pass = status.admission_pass;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!pass.is_empty(), "admitted within 10 s");

    let mut identity = idn::identity_service_client::IdentityServiceClient::new(ch(&e.identity));
    let start = |rrn: &str| idn::StartVerificationRequest {
        provider_id: "carrier-sms".into(),
        name: "홍길동".into(),
        resident_registration_number: rrn.into(),
        phone_number: "010-1234-5678".into(),
    };
    assert_field(identity.start_verification(with_pass(start("900101-1234567"), &pass, &client_id)).await, "resident_registration_number");
    let unauth = identity.list_providers(with_pass(idn::ListProvidersRequest {}, "", &client_id)).await.expect_err("no pass");
    assert_eq!(unauth.code(), Code::Unauthenticated);

    let mut eligibility = elig::eligibility_service_client::EligibilityServiceClient::new(ch(&e.eligibility));
    let check = elig::CheckEligibilityRequest { identity_assertion: "x".into(), dose_number: 0, ..Default::default() };
    assert_field(eligibility.check_eligibility(with_pass(check.clone(), &pass, &client_id)).await, "dose_number");
    assert_eq!(eligibility.check_eligibility(with_pass(check, "", &client_id)).await.expect_err("no pass").code(), Code::Unauthenticated);

    let mut inventory = inv::inventory_service_client::InventoryServiceClient::new(ch(&e.inventory));
    let search = inv::SearchClinicsRequest {
        region_code: "abc".into(),
        vaccine_code: "pfizer".into(),
        from_date: "2030-01-01".into(),
        to_date: "2030-01-02".into(),
        page_size: 10,
        page_token: String::new(),
    };
    assert_field(inventory.search_clinics(with_pass(search, &pass, &client_id)).await, "region_code");
    let avail = inv::GetAvailabilityRequest {
        clinic_id: "nope".into(),
        vaccine_code: "pfizer".into(),
        from_date: "2030-01-01".into(),
        to_date: "2030-01-02".into(),
    };
    assert_field(inventory.get_availability(with_pass(avail, &pass, &client_id)).await, "clinic_id");
    assert_eq!(
        inventory.list_regions(with_pass(inv::ListRegionsRequest {}, "", &client_id)).await.expect_err("no pass").code(),
        Code::Unauthenticated
    );

    let mut reservations = res::reservation_service_client::ReservationServiceClient::new(ch(&e.reservation));
    let create = res::CreateReservationRequest {
        idempotency_key: "key-12345678".into(),
        slot_id: "nope".into(),
        identity_assertion: "x".into(),
        agent_assertion: String::new(),
        dose_number: 1,
        contact_phone: "010-1234-5678".into(),
        consent_token: String::new(),
    };
    assert_field(reservations.create_reservation(with_pass(create.clone(), &pass, &client_id)).await, "slot_id");
    assert_eq!(
        reservations.create_reservation(with_pass(create, "", &client_id)).await.expect_err("no pass").code(),
        Code::Unauthenticated
    );

    let mut notifications = ntf::notification_service_client::NotificationServiceClient::new(ch(&e.notification));
    assert_field(
        notifications.get_delivery_status(ntf::GetDeliveryStatusRequest { reservation_id: "nope".into(), ..Default::default() }).await,
        "reservation_id",
    );
    stack.stop().await.expect("clean stop");
}

/// An elderly parent verifies on their own phone, in their own session, and
/// consents; the child, in another session, checks and books for them with
/// the consent token. Real identity signs it; eligibility and reservation
/// each verify it; the reservation is the parent's, booked by the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_child_books_for_a_parent_who_consented_from_their_own_session() {
    let stack = Stack::start(2_000).await.expect("stack starts");
    let e = &stack.endpoints;
    let quiet = |_: String| {};
    let (parent, child) = (stack.bookable_person(0), stack.bookable_person(1));
    let parent_session = yeyak_dev::demo::admit(e, &quiet).await.expect("parent admitted");
    let parent_id = yeyak_dev::demo::verify(e, &parent, &parent_session, &quiet).await.expect("parent verified");
    let child_session = yeyak_dev::demo::admit(e, &quiet).await.expect("child admitted");
    let child_id = yeyak_dev::demo::verify(e, &child, &child_session, &quiet).await.expect("child verified");

    let mut identity = idn::identity_service_client::IdentityServiceClient::new(ch(&e.identity));
    let grant = idn::GrantConsentRequest {
        identity_assertion: parent_id.identity_assertion.clone(),
        agent_subject_id: child_id.subject_id.clone(),
    };
    let consent = identity
        .grant_consent(parent_session.request(grant, IDENTITY, "GrantConsent").unwrap())
        .await
        .expect("consent")
        .into_inner()
        .consent_token;

    let check = elig::CheckEligibilityRequest {
        consent_token: consent.clone(),
        agent_assertion: child_id.identity_assertion.clone(),
        dose_number: 1,
        ..Default::default()
    };
    let mut eligibility = elig::eligibility_service_client::EligibilityServiceClient::new(ch(&e.eligibility));
    let decision = eligibility
        .check_eligibility(child_session.request(check.clone(), ELIGIBILITY, "CheckEligibility").unwrap())
        .await
        .expect("check")
        .into_inner();
    assert!(decision.eligible, "{decision:?}");
    // The parent's own session cannot use it: the parent is not the agent it names.
    let mut as_parent = check.clone();
    as_parent.agent_assertion = parent_id.identity_assertion.clone();
    let refused = eligibility
        .check_eligibility(parent_session.request(as_parent, ELIGIBILITY, "CheckEligibility").unwrap())
        .await
        .expect_err("not the agent");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("another agent"), "{refused:?}");

    let slot = yeyak_dev::demo::find_slot(e, &child_session, &quiet).await.expect("a slot");
    let create = res::CreateReservationRequest {
        idempotency_key: "consent-12345678".into(),
        slot_id: slot.slot_id,
        agent_assertion: child_id.identity_assertion.clone(),
        consent_token: consent,
        dose_number: 1,
        contact_phone: child.phone.clone(),
        ..Default::default()
    };
    let mut reservations = res::reservation_service_client::ReservationServiceClient::new(ch(&e.reservation));
    let booked = reservations
        .create_reservation(child_session.request(create, RESERVATION, "CreateReservation").unwrap())
        .await
        .expect("booked")
        .into_inner();
    let booked = booked.reservation.expect("reservation");
    assert_eq!(
        (booked.subject_id.as_str(), booked.agent_subject_id.as_str()),
        (parent_id.subject_id.as_str(), child_id.subject_id.as_str())
    );
    // The parent, in their own session, sees the booking as theirs.
    let list = res::ListReservationsRequest { identity_assertion: parent_id.identity_assertion.clone(), ..Default::default() };
    let mine = reservations
        .list_reservations(parent_session.request(list, RESERVATION, "ListReservations").unwrap())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(mine.reservations, vec![booked]);
    stack.stop().await.expect("clean stop");
}
