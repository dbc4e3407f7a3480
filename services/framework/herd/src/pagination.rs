//! Django's `Paginator` for list views: `?page=N` over an ordered `QuerySet`.
//!
//! As Django's list views do (not `get_page()`, which clamps): an absent or empty `page` is
//! the first, `last` is the last, anything else that is not a page number is a 404.

use herd_core::{Error, Request, Result};
use herd_db::{Executor, Model, QuerySet};
use herd_http::request::RequestExt;
use serde::Serialize;

/// One page of results, as templates see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page {
    /// The 1-based page number.
    pub number: i64,
    /// How many pages there are (at least one, even for no results).
    pub num_pages: i64,
    /// How many results there are in all.
    pub count: i64,
    /// Whether a previous page exists.
    pub has_previous: bool,
    /// Whether a next page exists.
    pub has_next: bool,
    /// The query string of the previous page, other parameters kept.
    pub previous_query: String,
    /// The query string of the next page, other parameters kept.
    pub next_query: String,
}

/// Runs `queryset` for the page the request asks for (`?page=`), `per_page` rows a page.
///
/// Two statements: a count, then the page's rows.
///
/// # Errors
///
/// A `page` that is not a number or `last`, below 1 or past the end, is a 404; database
/// errors as usual.
pub async fn paginate<M: Model, E: Executor>(
    request: &Request,
    exec: &E,
    queryset: &QuerySet<M>,
    per_page: i64,
) -> Result<(Vec<M>, Page)> {
    let count = queryset.count(exec).await?;
    let num_pages = num_pages(count, per_page);
    let number = page_number(request.query_param("page").as_deref(), num_pages)?;
    let start = (number - 1) * per_page;
    let rows = if count == 0 {
        Vec::new()
    } else {
        queryset
            .clone()
            .slice(start..start + per_page)
            .all(exec)
            .await?
    };
    let others: Vec<(String, String)> = request
        .query_pairs()
        .into_iter()
        .filter(|(key, _)| key != "page")
        .collect();
    Ok((
        rows,
        Page {
            number,
            num_pages,
            count,
            has_previous: number > 1,
            has_next: number < num_pages,
            previous_query: query_for(&others, number - 1),
            next_query: query_for(&others, number + 1),
        },
    ))
}

/// `ceil(max(1, count) / per_page)`: an empty list still has one (empty) page.
fn num_pages(count: i64, per_page: i64) -> i64 {
    let per_page = per_page.max(1);
    (count.max(1) + per_page - 1) / per_page
}

fn page_number(raw: Option<&str>, num_pages: i64) -> Result<i64> {
    let number = match raw.map(str::trim) {
        None | Some("") => 1,
        Some("last") => num_pages,
        Some(text) => text.parse::<i64>().map_err(|_| {
            Error::not_found().with_source("Page is not “last”, nor can it be converted to an int.")
        })?,
    };
    if number < 1 || number > num_pages {
        return Err(Error::not_found().with_source("That page contains no results"));
    }
    Ok(number)
}

fn query_for(others: &[(String, String)], number: i64) -> String {
    let mut pairs: Vec<(&str, String)> = others
        .iter()
        .map(|(key, value)| (key.as_str(), value.clone()))
        .collect();
    pairs.push(("page", number.to_string()));
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_has_one_page() {
        assert_eq!(num_pages(0, 50), 1);
        assert_eq!(num_pages(50, 50), 1);
        assert_eq!(num_pages(51, 50), 2);
    }

    #[test]
    fn page_numbers_follow_django_list_views() {
        assert_eq!(page_number(None, 3).unwrap(), 1);
        assert_eq!(page_number(Some(""), 3).unwrap(), 1);
        assert_eq!(page_number(Some("last"), 3).unwrap(), 3);
        assert_eq!(page_number(Some("2"), 3).unwrap(), 2);
        for bad in ["0", "-1", "4", "x", "99999999999999999999999", "1.0"] {
            assert!(
                page_number(Some(bad), 3).unwrap_err().is_not_found(),
                "{bad}"
            );
        }
    }

    #[test]
    fn page_links_keep_the_other_parameters() {
        let others = vec![("q".to_owned(), "O'Neil & co".to_owned())];
        assert_eq!(query_for(&others, 2), "q=O%27Neil+%26+co&page=2");
    }
}
