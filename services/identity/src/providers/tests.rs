use super::*;

#[test]
fn provider_lists() {
    let list = ProviderConfig::parse_list(
        "carrier-sms=http://a:1/, kakao-cert=http://b:2,fin-cert=http://c:3,odd=http://d:4#sms_code",
        64,
        "fin-cert=8",
    )
    .unwrap();
    let got: Vec<_> = list.iter().map(|p| (p.id.as_str(), p.method, p.max_in_flight)).collect();
    assert_eq!(
        got,
        [
            ("carrier-sms", Method::SmsCode, 64),
            ("kakao-cert", Method::AppApproval, 64),
            ("fin-cert", Method::FinancialCertificate, 8),
            ("odd", Method::SmsCode, 64)
        ]
    );
    assert_eq!(list[0].url, "http://a:1");
    for (spec, limits, key) in [
        ("", "", "YEYAK_PROVIDERS"),
        ("x", "", "YEYAK_PROVIDERS"),
        ("a=http://x#fax", "", "YEYAK_PROVIDERS"),
        ("a=ftp://x", "", "YEYAK_PROVIDERS"),
        ("a b=http://x", "", "YEYAK_PROVIDERS"),
        ("a=http://x,a=http://y", "", "YEYAK_PROVIDERS"),
        ("a=http://x", "b=3", "YEYAK_PROVIDER_LIMITS"),
        ("a=http://x", "a=0", "YEYAK_PROVIDER_LIMITS"),
    ] {
        let err = ProviderConfig::parse_list(spec, 64, limits).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains(key), "{spec:?} {limits:?}: {err}");
    }
}

#[test]
fn personal_data_is_redacted_in_debug() {
    let rrn = Rrn::synthesize(chrono::NaiveDate::from_ymd_opt(1970, 1, 2).unwrap(), false, 5);
    let p = PersonDetails { name: "홍길동".into(), rrn: rrn.clone(), phone: "01012345678".into() };
    assert_eq!(format!("{p:?}"), "PersonDetails([redacted])");
    assert_eq!(format!("{:?}", VerifiedPerson { name: "홍길동".into(), rrn }), "VerifiedPerson([redacted])");
}
