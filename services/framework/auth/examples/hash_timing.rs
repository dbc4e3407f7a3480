//! Times one hash of each kind in this build: `cargo run --release -p herd-auth --example hash_timing`.

use std::time::Instant;

use herd_auth::hashers::{Argon2Hasher, Hasher, Pbkdf2Sha256Hasher, ScryptHasher};

fn main() {
    let candidates: Vec<(String, Box<dyn Hasher>)> = vec![
        (
            "argon2 m=19456,t=2,p=1 (Herd)".into(),
            Box::new(Argon2Hasher::default()),
        ),
        (
            "argon2 m=102400,t=2,p=8 (Django)".into(),
            Box::new(Argon2Hasher::django()),
        ),
        (
            "pbkdf2_sha256 1,500,000".into(),
            Box::new(Pbkdf2Sha256Hasher::default()),
        ),
        (
            "scrypt N=16384,r=8,p=5".into(),
            Box::new(ScryptHasher::default()),
        ),
    ];
    for (name, hasher) in candidates {
        let runs: u32 = 5;
        let salt = hasher.salt();
        let start = Instant::now();
        for i in 0..runs {
            let Ok(encoded) = hasher.encode(&format!("password{i}"), &salt) else {
                eprintln!("{name}: encode failed");
                return;
            };
            std::hint::black_box(encoded);
        }
        println!(
            "{name}: {:.1} ms per hash",
            start.elapsed().as_secs_f64() * 1e3 / f64::from(runs)
        );
    }
}
