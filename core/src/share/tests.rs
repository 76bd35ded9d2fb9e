use super::*;
use crate::rng::Rng;

fn sample() -> Scenario {
    Scenario::from_json(
        r#"{"seed": 7, "name": "acks demo",
            "topics": [{"name": "orders", "partitions": 3, "replication_factor": 3,
                        "config": {"min.insync.replicas": 2}}],
            "producers": [{"topic": "orders", "rate_per_sec": 500,
                           "keys": {"kind": "random", "count": 50}, "config": {"acks": "all"}}],
            "consumers": [{"topic": "orders", "config": {"group.id": "billing"}}],
            "actions": [{"at_ms": 8000, "action": "kill_broker", "broker": 1}]}"#,
    )
    .expect("valid")
}

#[test]
fn round_trips_and_is_canonical() {
    let s = sample();
    let a = encode(&s);
    assert!(a.starts_with("v1."));
    assert_eq!(decode(&a), Ok(s.clone()));
    // Same scenario, built differently: same string.
    let again = Scenario::from_json(&serde_json::to_string_pretty(&s).unwrap()).unwrap();
    assert_eq!(encode(&again), a);
    // Defaults are left out of the JSON.
    let compact = compact_json(&s);
    assert!(!compact.contains("retention.ms"), "{compact}");
    assert!(compact.len() < 400, "{compact}");
}

#[test]
fn accepts_full_urls_and_fragments() {
    let code = encode(&sample());
    for form in [
        code.clone(),
        format!("#s={code}"),
        format!("s={code}"),
        format!("https://kplay.example/#s={code}"),
        format!("  https://kplay.example/index.html?x=1#s={code}  "),
    ] {
        assert_eq!(decode(&form), Ok(sample()), "{form}");
    }
}

/// Share strings handed out by earlier versions: they must keep decoding to these scenarios.
#[test]
fn golden_share_strings_keep_decoding() {
    let golden = [
        (GOLDEN_SAMPLE, sample()),
        (GOLDEN_DEFAULT, Scenario::default()),
    ];
    for (code, expected) in golden {
        assert_eq!(decode(code), Ok(expected), "{code}");
    }
}

const GOLDEN_SAMPLE: &str = "v1.bZDNagQhEIRfJfR5GEyWkOCrhEVc7R0axx9a57AMvnta1uQQctPqqq-LPsG6RjlV0F_nfIOGQPtubpwDMixgm4li-FRKLTBV_dqvCzhJHhH5GZffnTbQJ2ycj7KSF9RNUJQ26Au0XMiJlNmPyAAkG1EU60J98RizbCuc_eF-mAEfdRBdPlID_S4NAqUBZpt8joPLtqEpyKaiGxa1qn-XVUQJfszZ386R0kqpPpJbGctOzorjrf92nCApaLnRPNpFtj_NQzB3uWCW41z6tX8D";
const GOLDEN_DEFAULT: &str = "v1.q64FAA";

#[test]
fn bad_strings_get_typed_errors() {
    assert!(matches!(
        decode("hello"),
        Err(ShareError::NotAShareString(_))
    ));
    assert!(matches!(
        decode("v9.abc"),
        Err(ShareError::UnknownVersion(_))
    ));
    assert!(matches!(decode("v1.@@@"), Err(ShareError::Base64(_))));
    assert!(matches!(decode("v1.AAAA"), Err(ShareError::Deflate(_))));
    let long = format!("v1.{}", "A".repeat(MAX_ENCODED_CHARS));
    assert!(matches!(decode(&long), Err(ShareError::TooLong { .. })));
    // A deflate bomb: 10 MB of spaces compresses to a few KB.
    let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b' '; 10_000_000], 10);
    let bomb = format!("v1.{}", URL_SAFE_NO_PAD.encode(bomb));
    assert!(bomb.len() < MAX_ENCODED_CHARS);
    assert_eq!(
        decode(&bomb),
        Err(ShareError::TooLarge {
            max: MAX_JSON_BYTES
        })
    );
    // Valid encoding of an invalid scenario.
    let json = r#"{"cluster": {"brokers": 99}}"#;
    let code = format!(
        "v1.{}",
        URL_SAFE_NO_PAD.encode(miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 10))
    );
    let err = decode(&code).unwrap_err().to_string();
    assert!(err.contains("cluster.brokers is 99"), "{err}");
}

/// Random and mutated inputs: every one is answered (Ok or a typed error), none panics.
#[test]
fn thousands_of_random_and_mutated_inputs_never_panic() {
    let mut rng = Rng::new(99);
    let good = encode(&sample());
    let alphabet: Vec<char> =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.#=/:?&v1 é\u{0}"
            .chars()
            .collect();
    let mut decoded = 0;
    for i in 0..5_000 {
        let input: String = match i % 4 {
            // Random characters.
            0 => (0..rng.below(200))
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect(),
            // One character of a valid string changed.
            1 => {
                let mut chars: Vec<char> = good.chars().collect();
                let at = 3 + rng.below(chars.len() as u64 - 3) as usize;
                chars[at] = alphabet[rng.below(64) as usize];
                chars.into_iter().collect()
            }
            // Truncated.
            2 => good
                .chars()
                .take(rng.below(good.len() as u64) as usize)
                .collect(),
            // Random bytes, deflated and encoded: valid transport, garbage inside.
            _ => {
                let bytes: Vec<u8> = (0..rng.below(300)).map(|_| rng.below(256) as u8).collect();
                let z = miniz_oxide::deflate::compress_to_vec(&bytes, 1);
                format!("v1.{}", URL_SAFE_NO_PAD.encode(z))
            }
        };
        if decode(&input).is_ok() {
            decoded += 1;
        }
    }
    // Almost every mutation is caught; the odd one that lands in a string value decodes.
    assert!(decoded < 500, "{decoded}");
}
