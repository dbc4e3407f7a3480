//! HTML for a form, following Django's `div.html`/`p.html` form templates and widget markup.

use std::fmt::Write as _;

use crate::bound::{BoundForm, Form};
use crate::field::{FieldKind, FieldSpec, is_checked};

// === impl BoundForm ===

impl<F: Form> BoundForm<F> {
    /// Renders every field in a `<div>` (Django's `as_div()`), form-wide errors first.
    pub fn as_div(&self) -> String {
        let mut html = self.non_field_errors_html();
        for spec in F::fields() {
            push_line(&mut html, "<div>");
            push_line(&mut html, &format!("  {}", label_tag(spec)));
            if let Some(errors) = self.field_errors_html(spec) {
                push_line(&mut html, &format!("  {errors}"));
            }
            push_line(&mut html, &format!("  {}", self.widget(spec)));
            push_line(&mut html, "</div>");
        }
        html
    }

    /// Renders every field in a `<p>` (Django's `as_p()`), each field's errors before it.
    pub fn as_p(&self) -> String {
        let mut html = self.non_field_errors_html();
        for spec in F::fields() {
            if let Some(errors) = self.field_errors_html(spec) {
                push_line(&mut html, &errors);
            }
            push_line(&mut html, "<p>");
            push_line(&mut html, &format!("  {}", label_tag(spec)));
            push_line(&mut html, &format!("  {}", self.widget(spec)));
            push_line(&mut html, "</p>");
        }
        html
    }

    /// The `as_div()` HTML as a template value that minijinja will not escape again.
    pub fn to_template_value(&self) -> minijinja::Value {
        minijinja::Value::from_safe_string(self.as_div())
    }

    /// One field's input (`<input>` or `<select>`), with its current value.
    pub fn widget(&self, spec: &FieldSpec) -> String {
        let value = self.value(spec.name);
        let has_errors = !self.field_errors(spec.name).is_empty();
        let mut attrs = String::new();
        let input_type = match spec.kind {
            FieldKind::Choice(choices) => return select(spec, choices, value, has_errors),
            FieldKind::Char => "text",
            FieldKind::Email => "email",
            FieldKind::Password => "password",
            FieldKind::Integer { .. } => "number",
            FieldKind::Date => "date",
            FieldKind::Boolean => "checkbox",
        };
        let checked = spec.kind == FieldKind::Boolean && value.is_some_and(is_checked);
        // Django's `PasswordInput(render_value=False)`: a password is never sent back.
        if !matches!(spec.kind, FieldKind::Boolean | FieldKind::Password)
            && let Some(value) = value.filter(|v| !v.is_empty())
        {
            attr(&mut attrs, "value", value);
        }
        if let Some(max) = spec.effective_max_length() {
            attr(&mut attrs, "maxlength", &max.to_string());
        }
        if let Some(min) = spec.min_length {
            attr(&mut attrs, "minlength", &min.to_string());
        }
        if matches!(spec.kind, FieldKind::Integer { .. }) {
            if let Some(min) = spec.min_value {
                attr(&mut attrs, "min", &min.to_string());
            }
            if let Some(max) = spec.max_value {
                attr(&mut attrs, "max", &max.to_string());
            }
        }
        if spec.required {
            attrs.push_str(" required");
        }
        error_attrs(&mut attrs, spec, has_errors);
        attr(&mut attrs, "id", &spec.id());
        if checked {
            attrs.push_str(" checked");
        }
        format!(
            r#"<input type="{input_type}" name="{}"{attrs}>"#,
            escape(spec.name)
        )
    }

    fn field_errors_html(&self, spec: &FieldSpec) -> Option<String> {
        let errors = self.field_errors(spec.name);
        (!errors.is_empty()).then(|| {
            format!(
                r#"<ul class="errorlist" id="{}_error">{}</ul>"#,
                spec.id(),
                list_items(errors)
            )
        })
    }

    fn non_field_errors_html(&self) -> String {
        let errors = self.non_field_errors();
        if errors.is_empty() {
            String::new()
        } else {
            format!(
                "<ul class=\"errorlist nonfield\">{}</ul>\n",
                list_items(errors)
            )
        }
    }
}

/// Escapes text for HTML as Django's `escape` does: `& < > " '`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Django's `Select` widget.
fn select(
    spec: &FieldSpec,
    choices: &[(&str, &str)],
    value: Option<&str>,
    has_errors: bool,
) -> String {
    let mut attrs = String::new();
    // Django's Select drops `required` unless the first choice is the empty one.
    if spec.required && choices.first().is_some_and(|(v, _)| v.is_empty()) {
        attrs.push_str(" required");
    }
    error_attrs(&mut attrs, spec, has_errors);
    attr(&mut attrs, "id", &spec.id());
    let mut html = format!(r#"<select name="{}"{attrs}>"#, escape(spec.name));
    for (choice, label) in choices {
        let selected = if value == Some(*choice) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            html,
            "\n  <option value=\"{}\"{selected}>{}</option>",
            escape(choice),
            escape(label)
        );
    }
    html.push_str("\n</select>");
    html
}

/// Django's `label_tag`: the label suffix `:` is skipped after punctuation.
fn label_tag(spec: &FieldSpec) -> String {
    let suffix = if spec.label.ends_with([':', '?', '.', '!']) {
        ""
    } else {
        ":"
    };
    format!(
        r#"<label for="{}">{}{suffix}</label>"#,
        spec.id(),
        escape(spec.label)
    )
}

fn error_attrs(attrs: &mut String, spec: &FieldSpec, has_errors: bool) {
    if has_errors {
        attrs.push_str(r#" aria-invalid="true""#);
        attr(attrs, "aria-describedby", &format!("{}_error", spec.id()));
    }
}

fn attr(attrs: &mut String, name: &str, value: &str) {
    let _ = write!(attrs, r#" {name}="{}""#, escape(value));
}

fn list_items(errors: &[String]) -> String {
    errors.iter().fold(String::new(), |mut html, error| {
        let _ = write!(html, "<li>{}</li>", escape(error));
        html
    })
}

fn push_line(html: &mut String, line: &str) {
    html.push_str(line);
    html.push('\n');
}
