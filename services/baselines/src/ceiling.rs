//! The ceiling: Herd's year archive written by hand, with nothing between hyper and Postgres.
//!
//! `GET /employee/<year>/` runs [`YEAR_ARCHIVE_SQL`], the statement Herd's view sends, through
//! a deadpool-postgres pool (one prepared statement per connection) and writes the page with
//! `String` pushes into the bytes Herd's template produces. Every other path is a 404. There
//! is no middleware, no routing table, no template engine and no cache: whatever Herd adds on
//! top of this is the framework's cost, which the benchmark reports as a ratio.

use std::convert::Infallible;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::NaiveDate;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use herd_templates::escape::escape_html_into as push_escaped;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio_postgres::NoTls;

use crate::{BaselineError, Result};

/// The statement Herd's year-archive view sends, as its ORM compiles
/// `Employee::objects().filter(Employee::hire_date().year(year))` (model ordering: name, id).
pub const YEAR_ARCHIVE_SQL: &str = concat!(
    r#"SELECT "t0"."id", "t0"."name", "t0"."address", "t0"."hire_date" "#,
    r#"FROM "directory_employee" AS "t0" WHERE ("t0"."hire_date" BETWEEN $1 AND $2) "#,
    r#"ORDER BY "t0"."name" ASC, "t0"."id" ASC"#,
);

/// Connections in the pool: Herd's default `HERD_DATABASE__POOL_SIZE`.
pub const POOL_SIZE: usize = 16;

/// The static URL the ceiling writes where Herd writes its hashed stylesheet URL.
pub const STYLESHEET_URL: &str = "/static/css/site.css";

const HTML: &str = "text/html; charset=utf-8";

/// One row of the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Employee {
    /// Primary key.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Postal address.
    pub address: String,
    /// Day of hire.
    pub hire_date: NaiveDate,
}

/// The ceiling server's state: a connection pool.
#[derive(Clone, Debug)]
pub struct Ceiling {
    pool: Pool,
}

// === impl Ceiling ===

impl Ceiling {
    /// A pool of [`POOL_SIZE`] connections to `database_url`, opened on first use.
    ///
    /// # Errors
    ///
    /// A malformed URL.
    pub fn connect(database_url: &str) -> Result<Self> {
        let config = tokio_postgres::Config::from_str(database_url)
            .map_err(|err| BaselineError::Database(format!("DATABASE_URL: {err}")))?;
        // Fast recycling trusts a returned connection, as a hand-written server would.
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|err| BaselineError::Database(err.to_string()))?;
        Ok(Self { pool })
    }

    /// The employees hired in `year`, ordered by name, then id.
    ///
    /// # Errors
    ///
    /// The pool or the query failed.
    pub async fn employees_hired_in(
        &self,
        year: i32,
    ) -> std::result::Result<Vec<Employee>, Box<dyn std::error::Error + Send + Sync>> {
        let (Some(first), Some(last)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) else {
            return Ok(Vec::new());
        };
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(YEAR_ARCHIVE_SQL).await?;
        let rows = client.query(&statement, &[&first, &last]).await?;
        rows.iter()
            .map(|row| {
                Ok(Employee {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    address: row.try_get(2)?,
                    hire_date: row.try_get(3)?,
                })
            })
            .collect()
    }

    async fn respond(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        let Some(year) = parse_year_path(request.uri().path()) else {
            return bare(
                StatusCode::NOT_FOUND,
                "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>",
            );
        };
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = bare(StatusCode::METHOD_NOT_ALLOWED, "");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match self.employees_hired_in(year).await {
            Ok(employees) => {
                let mut response = Response::new(Full::new(Bytes::from(render_year_archive(
                    year, &employees,
                ))));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
                response
            }
            Err(err) => {
                eprintln!("year archive {year}: {err}");
                bare(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<h1>Server Error (500)</h1>",
                )
            }
        }
    }
}

/// Serves the ceiling on `listener` until `shutdown` resolves.
///
/// # Errors
///
/// Socket errors.
pub async fn serve(
    listener: TcpListener,
    ceiling: Ceiling,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let ceiling = Arc::new(ceiling);
    let service = service_fn(move |request: Request<Incoming>| {
        let ceiling = Arc::clone(&ceiling);
        async move { Ok::<_, Infallible>(ceiling.respond(&request).await) }
    });
    crate::serve::serve(listener, service, shutdown).await
}

/// The year in `/employee/<year>/`, as Django's `<int:year>` converter matches it (`[0-9]+`).
pub fn parse_year_path(path: &str) -> Option<i32> {
    let digits = path.strip_prefix("/employee/")?.strip_suffix('/')?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The year-archive page, byte for byte as Herd renders `directory/year_archive.html` (which
/// extends `base.html`), with [`STYLESHEET_URL`] where Herd writes its hashed static URL.
pub fn render_year_archive(year: i32, employees: &[Employee]) -> String {
    // About 130 bytes a row plus the frame: one allocation for a typical year.
    let mut page = String::with_capacity(1200 + employees.len() * 160);
    let year_text = year.to_string();
    page.push_str(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Hired in ",
    );
    page.push_str(&year_text);
    page.push_str(" · Herd</title>\n<link rel=\"stylesheet\" href=\"");
    page.push_str(STYLESHEET_URL);
    page.push_str(
        "\">\n</head>\n<body>\n<header class=\"site-header\">\n\
         <a class=\"brand\" href=\"/\">Herd <span>directory</span></a>\n\
         <nav><a href=\"/employee/\">Employees</a><a href=\"/employee/name/\">Names</a><a href=\"/accounts/login/\">Log in</a></nav>\n\
         </header>\n<main>\n\n<h1>Hired in ",
    );
    page.push_str(&year_text);
    page.push_str("</h1>\n<p class=\"count\">");
    page.push_str(&employees.len().to_string());
    page.push_str(" employees</p>\n");
    if employees.is_empty() {
        page.push_str("\n<p class=\"empty\">Nobody was hired in ");
        page.push_str(&year_text);
        page.push_str(".</p>\n");
    } else {
        page.push_str(
            "\n<table class=\"employees\">\n\
             <thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Address</th></tr></thead>\n\
             <tbody>\n",
        );
        for employee in employees {
            page.push_str("<tr><td><a href=\"/employee/id/");
            page.push_str(&employee.id.to_string());
            page.push_str("/\">");
            push_escaped(&mut page, &employee.name);
            page.push_str("</a></td><td>");
            push_escaped(&mut page, &employee.address);
            page.push_str("</td></tr>\n");
        }
        page.push_str("</tbody>\n</table>\n");
    }
    let (previous, next) = (
        year.saturating_sub(1).to_string(),
        year.saturating_add(1).to_string(),
    );
    page.push_str("\n<nav class=\"pager\" aria-label=\"Years\"><a class=\"button\" rel=\"prev\" href=\"/employee/");
    page.push_str(&previous);
    page.push_str("/\">");
    page.push_str(&previous);
    page.push_str("</a><a class=\"button\" rel=\"next\" href=\"/employee/");
    page.push_str(&next);
    page.push_str("/\">");
    page.push_str(&next);
    page.push_str(
        "</a></nav>\n\n</main>\n\
         <footer class=\"site-footer\">Served by Herd, a Django-style framework in Rust.</footer>\n\
         </body>\n</html>",
    );
    page
}

/// A small HTML page with `status`, as Herd's bare error pages.
fn bare(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_paths_parse_like_djangos_int_converter() {
        assert_eq!(parse_year_path("/employee/2010/"), Some(2010));
        assert_eq!(parse_year_path("/employee/0042/"), Some(42));
        assert_eq!(parse_year_path("/employee/2010"), None);
        assert_eq!(parse_year_path("/employee/-1/"), None);
        assert_eq!(parse_year_path("/employee/+1/"), None);
        assert_eq!(parse_year_path("/employee//"), None);
        assert_eq!(parse_year_path("/employee/99999999999/"), None);
        assert_eq!(parse_year_path("/employees/2010/"), None);
    }

    #[test]
    fn rows_are_escaped_and_linked() {
        let employee = Employee {
            id: 7,
            name: "O'Brien & <Sons>".to_owned(),
            address: "1 \"Main\" St/2".to_owned(),
            hire_date: NaiveDate::from_ymd_opt(2010, 3, 4).unwrap(),
        };
        let page = render_year_archive(2010, &[employee]);
        assert!(page.contains("<a href=\"/employee/id/7/\">O&#x27;Brien &amp; &lt;Sons&gt;</a>"));
        assert!(page.contains("1 &quot;Main&quot; St/2"));
        assert!(page.contains("<p class=\"count\">1 employees</p>"));
        assert!(!page.contains("<Sons>"));
    }
}
