//! Forms through the derive: binding, Django's messages, hooks and HTML.

use chrono::NaiveDate;

use crate::{CleanedData, FieldValue, Form, FormHooks, ValidationError};

#[derive(Debug, Form)]
struct EmployeeForm {
    #[form(max_length = 100)]
    name: String,
    #[form(required = false)]
    address: String,
    #[form(min_value = 2000)]
    year: i64,
    hire_date: NaiveDate,
    #[form(email)]
    email: String,
    #[form(choices = "a:Apple,b:Banana")]
    fruit: String,
    active: bool,
    nickname: Option<String>,
}

impl FormHooks for EmployeeForm {}

fn valid_data() -> Vec<(String, String)> {
    [
        ("name", "  Ann Smith  "),
        ("address", ""),
        ("year", "2010"),
        ("hire_date", "2010-03-04"),
        ("email", "ann@example.com"),
        ("fruit", "b"),
        ("active", "on"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn with(field: &str, value: &str) -> Vec<(String, String)> {
    let mut data = valid_data();
    data.retain(|(k, _)| k != field);
    data.push((field.to_owned(), value.to_owned()));
    data
}

fn errors_of(data: &[(String, String)], field: &str) -> Vec<String> {
    EmployeeForm::bind(data).field_errors(field).to_vec()
}

#[test]
fn unbound_form_has_no_errors_and_is_not_valid() {
    let form = EmployeeForm::unbound();
    assert!(!form.is_bound());
    assert!(!form.is_valid());
    assert!(form.errors().is_empty());
    assert!(form.cleaned_data().is_none());
}

#[test]
fn empty_data_gives_one_required_error_per_required_field() {
    let form = EmployeeForm::bind::<&str, &str>(&[]);
    assert!(form.is_bound());
    assert!(!form.is_valid());
    let required = ["name", "year", "hire_date", "email", "fruit", "active"];
    assert_eq!(
        form.errors().keys().map(String::as_str).collect::<Vec<_>>(),
        {
            let mut sorted = required.to_vec();
            sorted.sort_unstable();
            sorted
        }
    );
    for field in required {
        assert_eq!(form.field_errors(field), ["This field is required."]);
    }
}

#[test]
fn valid_data_gives_the_typed_struct() {
    let form = EmployeeForm::bind(&valid_data());
    assert!(form.is_valid(), "{:?}", form.errors());
    let employee = form.into_cleaned_data().unwrap();
    assert_eq!(employee.name, "Ann Smith");
    assert_eq!(employee.address, "");
    assert_eq!(employee.year, 2010);
    assert_eq!(
        employee.hire_date,
        NaiveDate::from_ymd_opt(2010, 3, 4).unwrap()
    );
    assert_eq!(employee.email, "ann@example.com");
    assert_eq!(employee.fruit, "b");
    assert!(employee.active);
    assert_eq!(employee.nickname, None);
}

#[test]
fn text_is_trimmed_and_optional_fields_fill_in() {
    let mut data = with("address", "  1 High St \t");
    data.push(("nickname".to_owned(), " Annie ".to_owned()));
    let employee = EmployeeForm::bind(&data).into_cleaned_data().unwrap();
    assert_eq!(employee.address, "1 High St");
    assert_eq!(employee.nickname.as_deref(), Some("Annie"));
}

#[test]
fn whitespace_only_required_text_is_missing() {
    assert_eq!(
        errors_of(&with("name", "   "), "name"),
        ["This field is required."]
    );
}

#[test]
fn too_long_text_names_both_lengths() {
    let long = "x".repeat(101);
    assert_eq!(
        errors_of(&with("name", &long), "name"),
        ["Ensure this value has at most 100 characters (it has 101)."]
    );
}

#[test]
fn max_length_counts_characters_after_trimming() {
    let name = format!(" {} ", "é".repeat(100));
    assert!(EmployeeForm::bind(&with("name", &name)).is_valid());
}

#[test]
fn non_numbers_are_not_whole_numbers() {
    for bad in ["abc", "12.5", "1e3"] {
        assert_eq!(
            errors_of(&with("year", bad), "year"),
            ["Enter a whole number."]
        );
    }
}

#[test]
fn integers_accept_a_trailing_decimal_zero() {
    let employee = EmployeeForm::bind(&with("year", " 2011.0 "))
        .into_cleaned_data()
        .unwrap();
    assert_eq!(employee.year, 2011);
}

#[test]
fn integers_below_min_value_are_rejected() {
    assert_eq!(
        errors_of(&with("year", "1999"), "year"),
        ["Ensure this value is greater than or equal to 2000."]
    );
}

#[test]
fn dates_accept_iso_and_django_input_formats() {
    for (raw, expected) in [
        ("2010-03-04", (2010, 3, 4)),
        ("03/04/2010", (2010, 3, 4)),
        ("Oct 25 2006", (2006, 10, 25)),
        ("25 October, 2006", (2006, 10, 25)),
    ] {
        let employee = EmployeeForm::bind(&with("hire_date", raw)).into_cleaned_data();
        let (y, m, d) = expected;
        assert_eq!(
            employee.map(|e| e.hire_date),
            NaiveDate::from_ymd_opt(y, m, d),
            "{raw}"
        );
    }
}

#[test]
fn bad_dates_are_rejected() {
    for bad in ["2010-02-30", "yesterday", "2010/03/04"] {
        assert_eq!(
            errors_of(&with("hire_date", bad), "hire_date"),
            ["Enter a valid date."]
        );
    }
}

#[test]
fn bad_email_addresses_are_rejected() {
    for bad in [
        "ann",
        "ann@",
        "@example.com",
        "ann@example",
        "ann smith@example.com",
        "ann@-x.com",
    ] {
        assert_eq!(
            errors_of(&with("email", bad), "email"),
            ["Enter a valid email address."],
            "{bad}"
        );
    }
    for good in [
        "ann.smith+x@mail.example.co.uk",
        "root@localhost",
        "a@[192.0.2.1]",
    ] {
        assert!(
            EmployeeForm::bind(&with("email", good)).is_valid(),
            "{good}"
        );
    }
}

#[test]
fn unknown_choices_are_rejected() {
    assert_eq!(
        errors_of(&with("fruit", "x"), "fruit"),
        ["Select a valid choice. x is not one of the available choices."]
    );
}

#[test]
fn a_required_checkbox_must_be_ticked() {
    let mut data = valid_data();
    data.retain(|(k, _)| k != "active");
    assert_eq!(errors_of(&data, "active"), ["This field is required."]);
    assert_eq!(
        errors_of(&with("active", "false"), "active"),
        ["This field is required."]
    );
}

#[derive(Debug, Form)]
struct OptionalBoxForm {
    #[form(required = false)]
    subscribe: bool,
    count: Option<i32>,
}

impl FormHooks for OptionalBoxForm {}

#[test]
fn an_absent_optional_checkbox_is_false() {
    let form = OptionalBoxForm::bind(&[("count", "")]);
    let cleaned = form.into_cleaned_data().unwrap();
    assert!(!cleaned.subscribe);
    assert_eq!(cleaned.count, None);
}

#[test]
fn integers_outside_the_rust_type_are_rejected() {
    let form = OptionalBoxForm::bind(&[("count", "3000000000")]);
    assert_eq!(
        form.field_errors("count"),
        ["Ensure this value is less than or equal to 2147483647."]
    );
}

#[derive(Debug, Form)]
struct ShortForm {
    #[form(max_length = 5)]
    code: String,
}

impl FormHooks for ShortForm {}

#[test]
fn max_length_message_matches_django() {
    let form = ShortForm::bind(&[("code", "abcdefg")]);
    assert_eq!(
        form.field_errors("code"),
        ["Ensure this value has at most 5 characters (it has 7)."]
    );
}

#[derive(Debug, Form)]
struct SignupForm {
    username: String,
    password: String,
    confirm: String,
}

impl FormHooks for SignupForm {
    fn clean_field(field: &str, value: &mut FieldValue) -> Result<(), String> {
        if field == "username" {
            let name = value.as_str().unwrap_or_default();
            if name == "admin" {
                return Err("That name is reserved.".to_owned());
            }
            *value = FieldValue::Text(name.to_lowercase());
        }
        Ok(())
    }

    fn clean(cleaned: &mut CleanedData) -> Result<(), ValidationError> {
        if cleaned.get("password") != cleaned.get("confirm") {
            return Err(ValidationError::new("The passwords differ.")
                .and(ValidationError::for_field("confirm", "Type it again.")));
        }
        Ok(())
    }
}

#[test]
fn clean_field_hook_adds_a_field_error() {
    let form = SignupForm::bind(&[("username", "admin"), ("password", "x"), ("confirm", "x")]);
    assert_eq!(form.field_errors("username"), ["That name is reserved."]);
    assert!(!form.is_valid());
}

#[test]
fn clean_field_hook_can_rewrite_the_value() {
    let form = SignupForm::bind(&[("username", "Ann"), ("password", "x"), ("confirm", "x")]);
    assert_eq!(form.into_cleaned_data().unwrap().username, "ann");
}

#[test]
fn clean_hook_adds_form_wide_and_field_errors() {
    let form = SignupForm::bind(&[("username", "ann"), ("password", "x"), ("confirm", "y")]);
    assert!(!form.is_valid());
    assert_eq!(form.errors()["__all__"], ["The passwords differ."]);
    assert_eq!(form.non_field_errors(), ["The passwords differ."]);
    assert_eq!(form.field_errors("confirm"), ["Type it again."]);
    assert!(form.as_div().starts_with(
        "<ul class=\"errorlist nonfield\"><li>The passwords differ.</li></ul>\n<div>"
    ));
}

#[test]
fn field_errors_precede_the_input_with_aria_attributes() {
    let form = ShortForm::bind(&[("code", "abcdefg")]);
    assert_eq!(
        form.as_div(),
        "<div>\n  <label for=\"id_code\">Code:</label>\n  \
         <ul class=\"errorlist\" id=\"id_code_error\">\
         <li>Ensure this value has at most 5 characters (it has 7).</li></ul>\n  \
         <input type=\"text\" name=\"code\" value=\"abcdefg\" maxlength=\"5\" required \
         aria-invalid=\"true\" aria-describedby=\"id_code_error\" id=\"id_code\">\n</div>\n"
    );
    assert_eq!(
        form.as_p(),
        "<ul class=\"errorlist\" id=\"id_code_error\">\
         <li>Ensure this value has at most 5 characters (it has 7).</li></ul>\n<p>\n  \
         <label for=\"id_code\">Code:</label>\n  \
         <input type=\"text\" name=\"code\" value=\"abcdefg\" maxlength=\"5\" required \
         aria-invalid=\"true\" aria-describedby=\"id_code_error\" id=\"id_code\">\n</p>\n"
    );
}

#[test]
fn unbound_html_has_labels_and_every_input_type() {
    let html = EmployeeForm::unbound().as_div();
    for expected in [
        r#"<label for="id_hire_date">Hire date:</label>"#,
        r#"<input type="text" name="name" maxlength="100" required id="id_name">"#,
        r#"<input type="text" name="address" id="id_address">"#,
        r#"<input type="number" name="year" min="2000" required id="id_year">"#,
        r#"<input type="date" name="hire_date" required id="id_hire_date">"#,
        r#"<input type="email" name="email" maxlength="320" required id="id_email">"#,
        "<select name=\"fruit\" id=\"id_fruit\">\n  <option value=\"a\">Apple</option>\n  \
         <option value=\"b\">Banana</option>\n</select>",
        r#"<input type="checkbox" name="active" required id="id_active">"#,
        r#"<input type="text" name="nickname" id="id_nickname">"#,
    ] {
        assert!(html.contains(expected), "{expected} not in\n{html}");
    }
    assert!(!html.contains("errorlist"));
}

#[test]
fn submitted_values_are_reshown_escaped() {
    let mut data = with("name", "<script>alert('x')</script> & \"co\"");
    data.push(("fruit".to_owned(), "<b>".to_owned()));
    let form = EmployeeForm::bind(&data);
    let html = form.as_div();
    assert!(html.contains(
        r#"value="&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;co&quot;""#
    ));
    assert!(html.contains(
        "<li>Select a valid choice. &lt;b&gt; is not one of the available choices.</li>"
    ));
    assert!(!html.contains("<script>"));
    assert!(!html.contains("<b>"));
}

#[test]
fn bound_values_select_the_choice_and_tick_the_box() {
    let html = EmployeeForm::bind(&valid_data()).as_div();
    assert!(html.contains(r#"<option value="b" selected>Banana</option>"#));
    assert!(
        html.contains(r#"<input type="checkbox" name="active" required id="id_active" checked>"#)
    );
    assert!(html.contains(
        r#"<input type="date" name="hire_date" value="2010-03-04" required id="id_hire_date">"#
    ));
}

#[test]
fn initial_values_come_from_the_struct() {
    let employee = EmployeeForm::bind(&valid_data())
        .into_cleaned_data()
        .unwrap();
    let form = employee.initial();
    assert!(!form.is_bound());
    assert!(form.errors().is_empty());
    assert_eq!(form.value("name"), Some("Ann Smith"));
    assert_eq!(form.value("hire_date"), Some("2010-03-04"));
    assert_eq!(form.value("nickname"), None);
}

#[test]
fn template_value_is_not_escaped_again() {
    let form = ShortForm::bind(&[("code", "<x>")]);
    let env = minijinja::Environment::new();
    let html = env
        .render_str(
            "{{ form }}",
            minijinja::context! { form => form.to_template_value() },
        )
        .unwrap();
    assert_eq!(html, form.as_div());
    assert!(html.contains(r#"value="&lt;x&gt;""#));
}

#[derive(Debug, Form)]
struct PasswordForm {
    #[form(password)]
    password: String,
}

impl FormHooks for PasswordForm {}

#[test]
fn a_password_is_kept_as_typed_and_never_rendered_back() {
    let form = PasswordForm::bind(&[("password", "  s3cret  ")]);
    assert_eq!(form.cleaned_data().unwrap().password, "  s3cret  ");
    assert_eq!(
        form.widget(&PasswordForm::fields()[0]),
        r#"<input type="password" name="password" required id="id_password">"#
    );
    let empty = PasswordForm::bind(&[("password", "")]);
    assert_eq!(empty.field_errors("password"), ["This field is required."]);
}

#[test]
fn an_added_error_makes_a_valid_form_invalid() {
    let mut form = ShortForm::bind(&[("code", "ab")]);
    assert!(form.is_valid());
    form.add_error(Some("code"), "Already taken.");
    form.add_error(None, "Try again later.");
    assert!(!form.is_valid());
    assert!(form.cleaned_data().is_none());
    assert_eq!(form.field_errors("code"), ["Already taken."]);
    assert_eq!(form.non_field_errors(), ["Try again later."]);
}
