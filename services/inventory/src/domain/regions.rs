//! Korea's 17 provinces (시/도) with their two-digit administrative codes and a
//! few real districts (시/군/구) each, with their five-digit codes: enough for
//! a realistic demo catalogue. Sejong has no districts, so its single
//! city-level code stands for it.
//!
//! Codes are those the project's contract names; note that the registry
//! renumbered 강원 (42 → 51) and 전북 (45 → 52) when they became special
//! self-governing provinces: 51 is used for 강원, 45 kept for 전북.

pub struct Province {
    pub code: &'static str,
    pub name: &'static str,
    /// (code, name) of the districts seeded for this province.
    pub districts: &'static [(&'static str, &'static str)],
}

pub const PROVINCES: &[Province] = &[
    Province {
        code: "11",
        name: "서울특별시",
        districts: &[("11110", "종로구"), ("11140", "중구"), ("11680", "강남구"), ("11710", "송파구")],
    },
    Province {
        code: "26", name: "부산광역시", districts: &[("26110", "중구"), ("26230", "부산진구"), ("26350", "해운대구")]
    },
    Province { code: "27", name: "대구광역시", districts: &[("27110", "중구"), ("27260", "수성구"), ("27290", "달서구")] },
    Province { code: "28", name: "인천광역시", districts: &[("28110", "중구"), ("28185", "연수구"), ("28237", "부평구")] },
    Province { code: "29", name: "광주광역시", districts: &[("29110", "동구"), ("29140", "서구"), ("29170", "북구")] },
    Province { code: "30", name: "대전광역시", districts: &[("30110", "동구"), ("30170", "서구"), ("30200", "유성구")] },
    Province { code: "31", name: "울산광역시", districts: &[("31110", "중구"), ("31140", "남구"), ("31710", "울주군")] },
    Province { code: "36", name: "세종특별자치시", districts: &[("36110", "세종특별자치시")] },
    Province {
        code: "41",
        name: "경기도",
        districts: &[("41117", "수원시 영통구"), ("41135", "성남시 분당구"), ("41360", "남양주시"), ("41390", "시흥시")],
    },
    Province {
        code: "43", name: "충청북도", districts: &[("43111", "청주시 상당구"), ("43130", "충주시"), ("43150", "제천시")]
    },
    Province {
        code: "44", name: "충청남도", districts: &[("44131", "천안시 동남구"), ("44150", "공주시"), ("44200", "아산시")]
    },
    Province {
        code: "45",
        name: "전북특별자치도",
        districts: &[("45111", "전주시 완산구"), ("45113", "전주시 덕진구"), ("45130", "군산시"), ("45140", "익산시")],
    },
    Province { code: "46", name: "전라남도", districts: &[("46110", "목포시"), ("46130", "여수시"), ("46150", "순천시")] },
    Province {
        code: "47", name: "경상북도", districts: &[("47111", "포항시 남구"), ("47130", "경주시"), ("47190", "구미시")]
    },
    Province {
        code: "48", name: "경상남도", districts: &[("48121", "창원시 의창구"), ("48170", "진주시"), ("48250", "김해시")]
    },
    Province { code: "50", name: "제주특별자치도", districts: &[("50110", "제주시"), ("50130", "서귀포시")] },
    Province {
        code: "51", name: "강원특별자치도", districts: &[("51110", "춘천시"), ("51130", "원주시"), ("51150", "강릉시")]
    },
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_well_formed_unique_and_nested() {
        assert_eq!(PROVINCES.len(), 17);
        let mut seen = HashSet::new();
        for p in PROVINCES {
            assert!(p.code.len() == 2 && p.code.bytes().all(|b| b.is_ascii_digit()), "{}", p.code);
            assert!(seen.insert(p.code));
            assert!((1..=4).contains(&p.districts.len()), "{}", p.name);
            for (code, name) in p.districts {
                assert!(code.len() == 5 && code.starts_with(p.code), "{code} {name}");
                assert!(seen.insert(code), "{code} twice");
            }
        }
        let codes: Vec<_> = PROVINCES.iter().map(|p| p.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted);
    }
}
