use super::*;

fn def() -> EventDefinition {
    EventDefinition {
        id: "r3-day1".into(),
        title: "Round 3, day 1".into(),
        opens_at_ms: 1_626_087_600_000,
        closes_at_ms: None,
        rule_set: "2021-07-55-59".into(),
        rate: 50.0,
        max_active: 1000,
        pre_open_ms: Some(3_600_000),
        pow_bits: 0,
        verify_in: None,
    }
}

#[test]
fn validation_names_the_field() {
    assert_eq!(def().validate(), Ok(()));
    let with = |f: fn(&mut EventDefinition)| {
        let mut d = def();
        f(&mut d);
        d.validate()
    };
    assert_eq!(with(|d| d.id = "R3".into()), Err(InvalidEvent::Id));
    assert_eq!(with(|d| d.id = "-x".into()), Err(InvalidEvent::Id));
    assert_eq!(with(|d| d.id = "a".repeat(33)), Err(InvalidEvent::Id));
    assert_eq!(with(|d| d.title = " ".into()), Err(InvalidEvent::Title));
    assert_eq!(with(|d| d.opens_at_ms = -1), Err(InvalidEvent::OpensAt));
    assert_eq!(with(|d| d.max_active = 10_000_001), Err(InvalidEvent::MaxActive));
    assert_eq!(with(|d| d.closes_at_ms = Some(d.opens_at_ms)), Err(InvalidEvent::ClosesAt));
    assert_eq!(with(|d| d.opens_at_ms = 0), Ok(()), "no opening: the configuration's events (the use case refuses it from operators)");
    assert_eq!(with(|d| d.rule_set = "../etc".into()), Err(InvalidEvent::RuleSet));
    assert_eq!(with(|d| d.rate = f64::NAN), Err(InvalidEvent::Rate));
    assert_eq!(with(|d| d.max_active = 0), Err(InvalidEvent::MaxActive));
    assert_eq!(with(|d| d.pre_open_ms = Some(8 * 24 * 3_600_000)), Err(InvalidEvent::PreOpen));
    assert_eq!(with(|d| d.pow_bits = 33), Err(InvalidEvent::Difficulty));
    assert_eq!(with(|d| d.verify_in = Some("r3-day1".into())), Err(InvalidEvent::VerifyIn));
    assert_eq!(with(|d| d.rule_set = String::new()), Ok(()));
}

#[test]
fn phases_follow_the_clock_and_the_close() {
    let mut e = StoredEvent { def: def(), closed: false, version: 1, updated_at_ms: 0, updated_by: String::new() };
    let open = e.def.opens_at_ms;
    assert_eq!(e.phase(open - 3_600_001), EventPhase::Scheduled);
    assert_eq!(e.phase(open - 3_600_000), EventPhase::PreOpening);
    assert_eq!(e.phase(open), EventPhase::Open);
    e.def.closes_at_ms = Some(open + 10);
    assert_eq!(e.phase(open + 10), EventPhase::Closing);
    e.def.pre_open_ms = None;
    assert_eq!(e.phase(i64::MIN + 1), EventPhase::PreOpening);
    e.closed = true;
    assert_eq!(e.phase(open), EventPhase::Closed);
}

#[test]
fn changes_that_affect_people_inside_need_force() {
    let (old, empty) = (def(), People::default());
    let people = People { joined: 10, waiting: 4, active: 3 };
    let mut moved = def();
    moved.opens_at_ms += 60_000;
    assert!(!update_effects(&old, &moved, &empty).iter().any(|e| e.disruptive));
    let effects = update_effects(&old, &moved, &people);
    assert!(effects[0].disruptive && effects[0].text.contains("10 people joined"), "{effects:?}");
    assert!(effects[0].text.contains("2021-07-12 20:00:00 KST"), "{effects:?}");
    let mut rules = def();
    rules.rule_set = "2021-07-50-54".into();
    assert!(update_effects(&old, &rules, &people).iter().any(|e| e.disruptive && e.text.contains("4 waiting and 3 admitted")));
    let mut rate = def();
    rate.rate = 10.0;
    rate.max_active = 2;
    rate.pow_bits = 4;
    rate.closes_at_ms = Some(old.opens_at_ms + 1);
    let effects = update_effects(&old, &rate, &people);
    assert!(effects.iter().all(|e| !e.disruptive), "{effects:?}");
    assert!(effects.iter().any(|e| e.text.contains("fewer than 2 of the 3 active")), "{effects:?}");
    assert_eq!(update_effects(&old, &old, &people), vec![Effect::plain("changes nothing".into())]);
    assert!(close_effects(&people)[0].disruptive);
    assert!(!close_effects(&empty)[0].disruptive);
}
