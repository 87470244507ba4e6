#![allow(clippy::unwrap_used)]
use super::*;

fn detail(state: DeliveryState, number_kept: bool, leased: bool) -> DeliveryDetail {
    DeliveryDetail {
        record: DeliveryRecord {
            message_id: Uuid::new_v4(),
            reservation_id: Uuid::new_v4(),
            booking_code: None,
            event_type: "reservation.confirmed.v1".into(),
            state: Some(state),
            masked_phone: "010-****-5678".into(),
            attempts: 3,
            created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            sent_at: None,
            gateway: None,
            last_error: None,
        },
        number_kept,
        resend_of: None,
        next_attempt_at: None,
        leased,
    }
}

#[test]
fn a_replay_only_moves_a_failed_delivery_that_still_has_its_number() {
    use DeliveryState as S;
    assert_eq!(Change::Replay.decide(&detail(S::Failed, true, false)), Ok(Outcome::Done));
    assert_eq!(Change::Replay.decide(&detail(S::Failed, false, false)), Err(Refusal::NumberErased));
    assert_eq!(Change::Replay.decide(&detail(S::Sent, true, false)), Ok(Outcome::AlreadySent));
    assert_eq!(Change::Replay.decide(&detail(S::Pending, true, true)), Ok(Outcome::InFlight), "a second replay is the first");
    assert_eq!(Change::Replay.decide(&detail(S::Unknown, true, false)), Ok(Outcome::InFlight));
    assert_eq!(Change::Replay.decide(&detail(S::Discarded, false, false)), Ok(Outcome::AlreadyDiscarded));
}

#[test]
fn resolving_needs_an_unknown_outcome_nobody_is_checking() {
    use DeliveryState as S;
    for change in [Change::ResolveSent, Change::ResolveNotSent] {
        assert_eq!(change.decide(&detail(S::Unknown, true, false)), Ok(Outcome::Done));
        assert_eq!(change.decide(&detail(S::Unknown, true, true)), Err(Refusal::Busy));
        assert_eq!(change.decide(&detail(S::Sent, false, false)), Ok(Outcome::AlreadySent), "resolved before");
        assert_eq!(change.decide(&detail(S::Pending, true, false)), Ok(Outcome::InFlight), "resolved as not sent before");
        assert!(matches!(change.decide(&detail(S::Failed, true, false)), Err(Refusal::NotUnknown(_))));
    }
    assert_eq!(Change::ResolveNotSent.decide(&detail(S::Unknown, false, false)), Err(Refusal::NumberErased));
    assert_eq!(Change::ResolveSent.decide(&detail(S::Unknown, false, false)), Ok(Outcome::Done));
}

#[test]
fn a_discard_stops_anything_not_sent() {
    use DeliveryState as S;
    for state in [S::Failed, S::Pending, S::Unknown] {
        assert_eq!(Change::Discard.decide(&detail(state, true, false)), Ok(Outcome::Done), "{state:?}");
    }
    assert_eq!(Change::Discard.decide(&detail(S::Pending, true, true)), Err(Refusal::Busy));
    assert_eq!(Change::Discard.decide(&detail(S::Sent, true, false)), Ok(Outcome::AlreadySent));
    assert_eq!(Change::Discard.decide(&detail(S::Discarded, false, false)), Ok(Outcome::AlreadyDiscarded));
}

#[test]
fn a_resend_says_it_is_one() {
    assert_eq!(
        resend_text("[예약] 예약번호 K7MX-4QPW 접종 예약이 취소되었습니다."),
        "[예약·재발송] 예약번호 K7MX-4QPW 접종 예약이 취소되었습니다."
    );
    assert_eq!(resend_text("hello"), "[재발송] hello");
}

#[test]
fn page_tokens_round_trip_and_garbage_is_refused() {
    let cursor = PageCursor { created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(), message_id: Uuid::new_v4() };
    assert_eq!(PageCursor::parse(&cursor.token()), Some(cursor));
    for bad in ["", "x", "12.nope", "nope.0190a0b0000070008000000000000001"] {
        assert_eq!(PageCursor::parse(bad), None, "{bad}");
    }
}
