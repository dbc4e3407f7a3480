//! `parse_form` and `FieldCountLimit`.

use herd_core::IntoResponse;
use herd_security::{DATA_UPLOAD_MAX_NUMBER_FIELDS, FieldCountLimit, parse_form};
use http::StatusCode;

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

#[test]
fn a_form_decodes_plus_percent_escapes_and_blank_values() {
    let fields = parse_form(
        b"name=Ann+O%27Hara&city=S%C3%A3o+Paulo&empty=&flag&&a%2Bb=1+%2B+1",
        10,
    )
    .unwrap();
    assert_eq!(
        fields,
        pairs(&[
            ("name", "Ann O'Hara"),
            ("city", "São Paulo"),
            ("empty", ""),
            ("flag", ""),
            ("a+b", "1 + 1"),
        ])
    );
}

#[test]
fn an_empty_body_has_no_fields() {
    assert_eq!(parse_form(b"", 0).unwrap(), pairs(&[]));
}

#[test]
fn repeated_names_stay_in_order() {
    let fields = parse_form(b"tag=a&tag=b&x==y", 10).unwrap();
    assert_eq!(fields, pairs(&[("tag", "a"), ("tag", "b"), ("x", "=y")]));
}

#[test]
fn exactly_the_limit_is_accepted() {
    let body = vec!["f=1"; DATA_UPLOAD_MAX_NUMBER_FIELDS].join("&");
    let fields = FieldCountLimit::default().parse(body.as_bytes()).unwrap();
    assert_eq!(fields.len(), DATA_UPLOAD_MAX_NUMBER_FIELDS);
}

#[test]
fn one_field_over_the_limit_is_a_bad_request() {
    let body = vec!["f=1"; DATA_UPLOAD_MAX_NUMBER_FIELDS + 1].join("&");
    let error = FieldCountLimit::default()
        .parse(body.as_bytes())
        .unwrap_err();
    assert!(error.is_bad_request());
    assert!(error.to_string().contains("too many fields"), "{error}");
    assert_eq!(error.into_response().status(), StatusCode::BAD_REQUEST);
}

#[test]
fn empty_pieces_count_towards_the_limit_as_in_django() {
    let error = parse_form(b"&&&", 3).unwrap_err();
    assert!(error.is_bad_request());
    assert_eq!(parse_form(b"&&&", 4).unwrap(), pairs(&[]));
}

#[test]
fn invalid_utf8_after_decoding_is_a_bad_request() {
    for body in [&b"q=%ff"[..], b"%c0%af=1", b"q=\xff", b"q=%e2%82"] {
        let error = parse_form(body, 10).unwrap_err();
        assert!(error.is_bad_request(), "{body:?}");
        assert!(error.to_string().contains("UTF-8"), "{error}");
    }
}

#[test]
fn a_stray_percent_is_kept_literally() {
    assert_eq!(
        parse_form(b"q=100%&r=%zz", 10).unwrap(),
        pairs(&[("q", "100%"), ("r", "%zz")])
    );
}

#[test]
fn the_limit_is_reported() {
    assert_eq!(FieldCountLimit::new(7).max_fields(), 7);
    assert_eq!(FieldCountLimit::default().max_fields(), 1000);
}
