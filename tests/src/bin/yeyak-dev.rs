//! Developer tool used by `make run`:
//! - `yeyak-dev keys`: prints fresh key material as shell `export` lines;
//! - `yeyak-dev demo`: books one appointment through the running stack,
//!   printing each step (addresses from `YEYAK_*_ADDR` variables).
use yeyak_e2e::{demo, keys::DevKeys};

fn addr(var: &str, default: &str) -> String {
    std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("keys") => {
            print!("{}", DevKeys::generate().to_env());
            Ok(())
        }
        Some("demo") => {
            let idp_urls = addr("YEYAK_IDP_URLS", "carrier-sms=http://127.0.0.1:18082,kakao-cert=http://127.0.0.1:18083,naver-cert=http://127.0.0.1:18085,fin-cert=http://127.0.0.1:18086")
                .split(',')
                .filter_map(|e| e.split_once('=').map(|(a, b)| (a.to_owned(), b.to_owned())))
                .collect();
            let endpoints = demo::Endpoints {
                admission: addr("YEYAK_ADMISSION_ADDR", "127.0.0.1:50051"),
                identity: addr("YEYAK_IDENTITY_ADDR", "127.0.0.1:50052"),
                eligibility: addr("YEYAK_ELIGIBILITY_ADDR", "127.0.0.1:50053"),
                inventory: addr("YEYAK_INVENTORY_ADDR", "127.0.0.1:50054"),
                reservation: addr("YEYAK_RESERVATION_ADDR", "127.0.0.1:50055"),
                notification: addr("YEYAK_NOTIFICATION_ADDR", "127.0.0.1:50056"),
                sms_gateway_url: addr("YEYAK_SMS_GATEWAY_URL", "http://127.0.0.1:18084"),
                idp_urls,
                queue_id: addr("YEYAK_QUEUE_ID", "demo"),
            };
            let seed: u64 = addr("YEYAK_REGISTRY_SEED", &mock_registry::config::DEFAULT_SEED.to_string()).parse()?;
            let skip: u64 = rand::random::<u64>() % 50_000;
            let p = (skip..skip + 10_000).map(|i| mock_registry::person(seed, i)).find(|p| p.insured && p.doses.is_empty());
            let p = p.ok_or_else(|| anyhow::anyhow!("no bookable person found in the registry sample"))?;
            let person = demo::Person { name: p.name, rrn: p.rrn.expose().to_owned(), phone: p.phone };
            println!("Demo booking for registry person #{} (born {})", p.index, p.birth_date);
            let outcome = demo::run(&endpoints, &person, &|line| println!("  {line}")).await?;
            println!("Done: reservation {} confirmed; {} SMS recorded by the gateway.", outcome.reservation_id, outcome.sms_texts.len());
            Ok(())
        }
        _ => {
            eprintln!("usage: yeyak-dev keys | yeyak-dev demo");
            std::process::exit(2);
        }
    }
}
