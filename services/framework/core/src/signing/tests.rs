use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};

use super::*;

const FIXTURE: &str = include_str!("../../tests/fixtures/django-compat.json");

fn fixture() -> (String, Vec<(String, String, String)>) {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    let signing = &root["signing"];
    let key = signing["secret_key"].as_str().unwrap().to_owned();
    let examples = signing["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["value"].as_str().unwrap().to_owned(),
                e["salt"].as_str().unwrap().to_owned(),
                e["signed"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (key, examples)
}

#[test]
fn django_fixture_examples_verify_and_resign_identically() {
    let (key, examples) = fixture();
    assert_eq!(examples.len(), 2);
    for (value, salt, signed) in examples {
        let signer = Signer::new(key.as_str(), salt);
        assert_eq!(signer.unsign(&signed).unwrap(), value);
        assert_eq!(signer.sign(&value), signed);
    }
}

#[test]
fn default_salt_signer_verifies_the_hello_fixture() {
    let (key, examples) = fixture();
    let (value, _, signed) = &examples[0];
    assert_eq!(
        Signer::with_default_salt(key).unsign(signed).unwrap(),
        value
    );
}

#[test]
fn tampered_signatures_fail() {
    let (key, examples) = fixture();
    for (value, salt, signed) in examples {
        let signer = Signer::new(key.as_str(), salt.as_str());
        let (_, sig) = signed.rsplit_once(':').unwrap();
        let mut flipped = sig.to_owned().into_bytes();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let flipped = format!("{value}:{}", String::from_utf8(flipped).unwrap());
        for bad in [
            flipped,
            format!("{value}x:{sig}"),
            format!("{value}:{}", &sig[1..]),
            format!("{value}:"),
            value.clone(),
            String::new(),
        ] {
            assert!(
                matches!(signer.unsign(&bad), Err(SignatureError::BadSignature)),
                "{bad} must not verify"
            );
        }
        // The right signature under another salt or key is still wrong.
        assert!(Signer::new(key.as_str(), "other").unsign(&signed).is_err());
        assert!(Signer::new("other-key", salt).unsign(&signed).is_err());
    }
}

#[test]
fn fallback_keys_verify_but_never_sign() {
    let old = Signer::new("old-key", "s").sign("v");
    let signer = Signer::new("new-key", "s").with_fallback_keys(["old-key".to_owned()]);
    assert_eq!(signer.unsign(&old).unwrap(), "v");
    assert_ne!(signer.sign("v"), old);
}

#[test]
fn base62_matches_django() {
    assert_eq!(b62_encode(0), "0");
    assert_eq!(b62_encode(61), "z");
    assert_eq!(b62_encode(62), "10");
    assert_eq!(b62_encode(-62), "-10");
    assert_eq!(b62_encode(1_700_000_000), "1r31eq");
    for n in [0, 1, 61, 62, 1_700_000_000, -5, i64::MAX] {
        assert_eq!(b62_decode(&b62_encode(n)), Some(n));
    }
    assert_eq!(b62_decode("!"), None);
    assert_eq!(b62_decode(""), None);
}

#[test]
fn timestamp_signer_embeds_base62_seconds() {
    let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ts_signer = TimestampSigner::new("k", "s");
    let signed = ts_signer.sign_at("v", at);
    let (stamped, _) = signed.rsplit_once(':').unwrap();
    assert_eq!(stamped, "v:1r31eq");
    // The outer signature is a plain Signer's over `value:ts`.
    assert_eq!(Signer::new("k", "s").sign(stamped), signed);
    assert_eq!(ts_signer.unsign_at(&signed, None, at).unwrap(), "v");
}

#[test]
fn timestamp_signer_max_age_expires() {
    let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ts_signer = TimestampSigner::with_default_salt("k");
    let signed = ts_signer.sign_at("v", at);
    let max_age = Some(Duration::from_mins(1));
    assert_eq!(
        ts_signer
            .unsign_at(&signed, max_age, at + Duration::from_mins(1))
            .unwrap(),
        "v"
    );
    let err = ts_signer
        .unsign_at(&signed, max_age, at + Duration::from_millis(60_500))
        .unwrap_err();
    assert!(err.is_expired(), "{err:?}");
    // Without max_age any age is accepted; a tampered value still fails first.
    assert!(
        ts_signer
            .unsign_at(&signed, None, at + Duration::from_secs(1_000_000))
            .is_ok()
    );
    let tampered = signed.replacen("v:", "w:", 1);
    assert!(matches!(
        ts_signer.unsign_at(&tampered, max_age, at),
        Err(SignatureError::BadSignature)
    ));
}

#[test]
fn dumps_loads_round_trip_uncompressed() {
    let obj = json!({"user": 42, "name": "Zoë <&>", "tags": ["a", "b"]});
    let token = dumps(&obj, "k", DUMPS_SALT, false).unwrap();
    assert!(!token.starts_with('.'));
    let back: Value = loads(&token, "k", DUMPS_SALT, None).unwrap();
    assert_eq!(back, obj);
    // The payload is Django's compact, ASCII-only JSON.
    let payload = token.split(':').next().unwrap();
    let json = URL_SAFE_NO_PAD.decode(payload).unwrap();
    assert_eq!(
        std::str::from_utf8(&json).unwrap(),
        r#"{"name":"Zo\u00eb <&>","tags":["a","b"],"user":42}"#
    );
    assert!(loads::<Value>(&token, "k", "other-salt", None).is_err());
}

#[test]
fn dumps_loads_round_trip_compressed() {
    let obj = json!({"text": "abc".repeat(100)});
    let token = dumps(&obj, "k", DUMPS_SALT, true).unwrap();
    assert!(token.starts_with('.'), "{token}");
    let uncompressed = dumps(&obj, "k", DUMPS_SALT, false).unwrap();
    assert!(token.len() < uncompressed.len());
    let back: Value = loads(&token, "k", DUMPS_SALT, Some(Duration::from_mins(1))).unwrap();
    assert_eq!(back, obj);
}

#[test]
fn dumps_skips_compression_that_does_not_pay() {
    let token = dumps(&json!(1), "k", DUMPS_SALT, true).unwrap();
    assert!(!token.starts_with('.'));
    assert_eq!(
        loads::<Value>(&token, "k", DUMPS_SALT, None).unwrap(),
        json!(1)
    );
}

// Made by Django 5.2.19 with key "k", salt "s" and the timestamp fixed at 1700000000.
const DJANGO_TIMESTAMPED: &str = "v:1r31eq:d5_0Tqts7tZsD0p06i057sZ1LHYoFCV93Mx7atuPyLw";
const DJANGO_OBJECT: &str = "eyJhIjoiXHUwMGU5IiwiYiI6WzEsMi41LG51bGwsdHJ1ZV19:1r31eq:Lv_llOpUNhDi_ISaHfhrYwVD8zWD86_lYgoq0bKr_j8";
const DJANGO_COMPRESSED: &str =
    ".eJyrVipJrShRslJKTEoeRUQipVoA41Z2WA:1r31eq:TRsMVY8Bc6NXw9CD-ajqZChrl0X2rY-snEUqrWTl4o4";

#[test]
fn django_timestamped_values_verify_and_resign_identically() {
    let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let signer = TimestampSigner::new("k", "s");
    assert_eq!(signer.sign_at("v", at), DJANGO_TIMESTAMPED);
    assert_eq!(signer.unsign(DJANGO_TIMESTAMPED, None).unwrap(), "v");

    let obj = json!({"a": "é", "b": [1, 2.5, null, true]});
    let payload = encode_object(&obj, false).unwrap();
    assert_eq!(signer.sign_at(&payload, at), DJANGO_OBJECT);
    assert_eq!(
        signer.unsign_object::<Value>(DJANGO_OBJECT, None).unwrap(),
        obj
    );

    let compressed: Value = signer.unsign_object(DJANGO_COMPRESSED, None).unwrap();
    assert_eq!(compressed, json!({"text": "abc".repeat(100)}));
    assert!(
        signer
            .unsign_object::<Value>(DJANGO_COMPRESSED, Some(Duration::from_mins(1)))
            .unwrap_err()
            .is_expired()
    );
}

#[test]
fn astral_characters_escape_as_surrogate_pairs() {
    let json = to_ascii_json("🐑\u{7f}").unwrap();
    assert_eq!(
        std::str::from_utf8(&json).unwrap(),
        r#""\ud83d\udc11\u007f""#
    );
}
