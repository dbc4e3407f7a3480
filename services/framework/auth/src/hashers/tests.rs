use super::*;

#[test]
fn salts_have_22_characters_of_the_django_alphabet() {
    let salt = Pbkdf2Sha256Hasher::default().salt();
    assert_eq!(salt.len(), 22);
    assert!(salt.bytes().all(|b| RANDOM_STRING_CHARS.contains(&b)));
    assert_ne!(salt, Pbkdf2Sha256Hasher::default().salt());
}

#[test]
fn salts_under_128_bits_must_update() {
    assert!(!must_update_salt(22));
    assert!(must_update_salt(21));
}

#[test]
fn unusable_passwords_are_a_bang_and_40_characters() {
    let unusable = make_unusable_password();
    assert_eq!(unusable.len(), 41);
    assert!(!is_password_usable(&unusable));
    assert!(is_password_usable("pbkdf2_sha256$1$a$b"));
}

#[test]
fn encode_refuses_empty_or_dollar_salts() {
    let hasher = Pbkdf2Sha256Hasher::new(1).unwrap();
    assert!(matches!(
        hasher.encode("pw", ""),
        Err(AuthError::InvalidSalt)
    ));
    assert!(matches!(
        hasher.encode("pw", "a$b"),
        Err(AuthError::InvalidSalt)
    ));
}

#[test]
fn pbkdf2_matches_django_for_a_known_salt() {
    // Django 5.2: PBKDF2PasswordHasher().encode("s3cret", "seasalt", 1000)
    let hasher = Pbkdf2Sha256Hasher::new(1000).unwrap();
    assert_eq!(
        hasher.encode("s3cret", "seasalt").unwrap(),
        "pbkdf2_sha256$1000$seasalt$OgwedktTHn6mmDBUe8hEgyWcem7MmUwZPnXWdUXxiJk="
    );
}

#[test]
fn argon2_matches_django_for_a_known_salt() {
    // Django 5.2 + argon2-cffi, Argon2PasswordHasher with m=19456, p=1:
    // .encode("s3cret", "seasaltseasalt")
    assert_eq!(
        Argon2Hasher::default()
            .encode("s3cret", "seasaltseasalt")
            .unwrap(),
        "argon2$argon2id$v=19$m=19456,t=2,p=1$c2Vhc2FsdHNlYXNhbHQ$NKkZfulr4JxA8P8ysbWy6jwyIm7wCsg1cGA0tjrJmsg"
    );
}

#[test]
fn registry_identifies_by_prefix() {
    let hashers = Hashers::default();
    assert_eq!(hashers.preferred().algorithm(), "argon2");
    assert_eq!(
        hashers
            .identify("scrypt$16384$s$8$5$h")
            .map(Hasher::algorithm),
        Some("scrypt")
    );
    assert!(hashers.identify("bcrypt$x").is_none());
    assert!(hashers.identify("nodollar").is_none());
    assert!(Hashers::new(Vec::new()).is_err());
}
