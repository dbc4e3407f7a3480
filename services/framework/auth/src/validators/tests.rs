use super::*;

fn codes(password: &str, user: &[UserAttribute<'_>]) -> Vec<&'static str> {
    match validate_password(password, user, &default_validators()) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(ValidationError::code).collect(),
    }
}

#[test]
fn minimum_length_uses_django_messages() {
    let err = MinimumLengthValidator::default()
        .validate("1234567", &[])
        .unwrap_err();
    assert_eq!(err.code(), "password_too_short");
    assert_eq!(
        err.message(),
        "This password is too short. It must contain at least 8 characters."
    );
    let err = MinimumLengthValidator::new(1)
        .validate("", &[])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "This password is too short. It must contain at least 1 character."
    );
    assert!(
        MinimumLengthValidator::default()
            .validate("12345678", &[])
            .is_ok()
    );
    // Characters, not bytes.
    assert!(
        MinimumLengthValidator::default()
            .validate("ééééééé", &[])
            .is_err()
    );
}

#[test]
fn common_passwords_are_refused_case_and_space_insensitively() {
    for pw in ["password", "PassWord", " 123456 ", "qwerty", "letmein"] {
        let err = CommonPasswordValidator.validate(pw, &[]).unwrap_err();
        assert_eq!(err.message(), "This password is too common.", "{pw}");
    }
    assert!(
        CommonPasswordValidator
            .validate("correct horse battery staple", &[])
            .is_ok()
    );
    assert_eq!(COMMON_PASSWORD_SET.len(), 19_640);
}

#[test]
fn numeric_passwords_are_refused() {
    let err = NumericPasswordValidator
        .validate("8675309123", &[])
        .unwrap_err();
    assert_eq!(err.code(), "password_entirely_numeric");
    assert_eq!(err.message(), "This password is entirely numeric.");
    assert!(NumericPasswordValidator.validate("8675309a", &[]).is_ok());
    assert!(NumericPasswordValidator.validate("", &[]).is_ok());
}

#[test]
fn passwords_similar_to_user_attributes_are_refused() {
    let user = [
        UserAttribute::new("username", "username", "testclient"),
        UserAttribute::new("first_name", "first name", "Test"),
        UserAttribute::new("email", "email address", "testclient@example.com"),
    ];
    let validator = UserAttributeSimilarityValidator::default();
    let err = validator.validate("testclient", &user).unwrap_err();
    assert_eq!(err.code(), "password_too_similar");
    assert_eq!(
        err.message(),
        "The password is too similar to the username."
    );
    // A part of the email address is enough.
    let user = [UserAttribute::new(
        "email",
        "email address",
        "mr.jones@example.com",
    )];
    assert_eq!(
        validator.validate("EXAMPLE", &user).unwrap_err().message(),
        "The password is too similar to the email address."
    );
    assert!(
        validator
            .validate("correct horse battery staple", &user)
            .is_ok()
    );
    assert!(validator.validate("testclient", &[]).is_ok());
    assert!(UserAttributeSimilarityValidator::new(["username"], 0.05).is_err());
}

#[test]
fn quick_ratio_and_split_match_python() {
    let a: Vec<char> = "abcd".chars().collect();
    let b: Vec<char> = "bcde".chars().collect();
    assert!((quick_ratio(&a, &b) - 0.75).abs() < 1e-12);
    assert!((quick_ratio(&[], &[]) - 1.0).abs() < 1e-12);
    assert_eq!(split_non_word("a@@b.c"), ["a", "b", "c"]);
    assert_eq!(split_non_word("@a."), ["", "a", ""]);
    assert_eq!(split_non_word(""), [""]);
}

#[test]
fn default_validators_report_every_failure() {
    let user = [UserAttribute::new("username", "username", "alice")];
    assert_eq!(
        codes("123", &user),
        [
            "password_too_short",
            "password_too_common",
            "password_entirely_numeric"
        ]
    );
    assert_eq!(
        codes("alice", &user),
        [
            "password_too_similar",
            "password_too_short",
            "password_too_common"
        ]
    );
    assert!(codes("correct horse battery staple", &user).is_empty());
    assert_eq!(
        password_validators_help_texts(&default_validators()).len(),
        4
    );
}
