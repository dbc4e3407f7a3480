//! The directory's views.

use herd::db::{Executor, Model, Statement};
use herd::pagination::{Page, paginate};
use herd::prelude::*;
use serde::Serialize;

use herd::forms::{Form, ModelForm};

use crate::forms::EmployeeForm;
use crate::models::Employee;

/// The cache tag of every page that shows employees; saving one purges it (with
/// `employee:<pk>` for its own page), so edits show at once on every worker.
const EMPLOYEE_TAG: &str = "employee";

/// Marks `response` as showing what `tags` name, for the page caches and CDNs.
fn tagged(mut response: Response, tags: Vec<String>) -> Response {
    response.extensions_mut().insert(CacheTags(tags));
    response
}

/// Rows on a page of the employee list.
const PER_PAGE: i64 = 50;

#[derive(Serialize)]
struct HomeContext {
    total: i64,
    first_year: Option<i32>,
    last_year: Option<i32>,
    years: Vec<YearCount>,
}

#[derive(Serialize)]
struct YearContext {
    year: i32,
    /// The employees as template objects: the page reads two fields of each of a year's
    /// hundreds of rows, so they are not copied into serde maps first.
    employees: herd::templates::Value,
}

#[derive(Serialize)]
struct DetailContext {
    hire_year: i32,
    employee: Employee,
}

/// The context of the employee form.
#[derive(Serialize)]
struct FormContext {
    heading: String,
    action: String,
    form: herd::templates::Value,
    form_csrf: herd::templates::Value,
}

/// The context of the paginated lists.
#[derive(Serialize)]
struct ListContext {
    q: String,
    employees: Vec<Employee>,
    page: Page,
}

#[derive(Serialize)]
struct YearCount {
    year: i32,
    count: i64,
}

/// `/`: how many were hired each year, with links to the year archives.
pub async fn home(request: Request) -> Result<Response> {
    let site = request.extension::<Site>()?;
    let by_year = Statement::new(
        "SELECT EXTRACT(YEAR FROM \"hire_date\")::int AS year, COUNT(*) \
         FROM \"directory_employee\" GROUP BY 1 ORDER BY 1",
    );
    let years: Vec<YearCount> = site
        .db()
        .query(&by_year)
        .await?
        .iter()
        .map(|row| YearCount {
            year: row.get(0),
            count: row.get(1),
        })
        .collect();
    let context = HomeContext {
        total: years.iter().map(|entry| entry.count).sum(),
        first_year: years.first().map(|entry| entry.year),
        last_year: years.last().map(|entry| entry.year),
        years,
    };
    site.templates()
        .render_response(&request, "directory/home.html", context)
        .await
        .map(|response| tagged(response, vec![EMPLOYEE_TAG.to_owned()]))
}

/// `/employee/`: everyone, by name, 50 a page; `?q=` searches names.
pub async fn employee_list(request: Request) -> Result<Response> {
    let site = request.extension::<Site>()?;
    let q = request
        .query_param("q")
        .map(|q| q.trim().to_owned())
        .unwrap_or_default();
    let mut employees = Employee::objects();
    if !q.is_empty() {
        employees = employees.filter(Employee::name().icontains(&q));
    }
    let (employees, page): (Vec<Employee>, Page) =
        paginate(&request, site.db(), &employees, PER_PAGE).await?;
    let context = ListContext { q, employees, page };
    site.templates()
        .render_response(&request, "directory/employee_list.html", context)
        .await
        .map(|response| tagged(response, vec![EMPLOYEE_TAG.to_owned()]))
}

/// `/employee/name/`: names only, as in Django's introduction.
pub async fn employee_names(request: Request) -> Result<Response> {
    let site = request.extension::<Site>()?;
    let (employees, page) = paginate(&request, site.db(), &Employee::objects(), PER_PAGE).await?;
    let context = ListContext {
        q: String::new(),
        employees,
        page,
    };
    site.templates()
        .render_response(&request, "directory/employee_names.html", context)
        .await
        .map(|response| tagged(response, vec![EMPLOYEE_TAG.to_owned()]))
}

/// `/employee/<int:year>/`: the names and addresses of those hired that year.
pub async fn year_archive(request: Request) -> Result<Response> {
    let site = request.extension::<Site>()?;
    // Any ASCII number reaches the view; one too large for a year is simply not found.
    let year: i32 = request.path_param("year")?;
    let employees = Employee::objects()
        .filter(Employee::hire_date().year(year))
        .all(site.db())
        .await?;
    let context = YearContext {
        year,
        employees: herd::templates::object_list(employees),
    };
    let response = site
        .templates()
        .render_response(&request, "directory/year_archive.html", context)
        .await?;
    Ok(tagged(response, vec![EMPLOYEE_TAG.to_owned()]))
}

/// `/employee/id/<int:pk>/`: one employee; 404 for a missing id.
pub async fn employee_detail(request: Request) -> Result<Response> {
    let site = request.extension::<Site>()?;
    let pk: i64 = request.path_param("pk")?;
    let employee = Employee::objects()
        .get(site.db(), Employee::id().exact(pk))
        .await?;
    let tags = vec![EMPLOYEE_TAG.to_owned(), format!("{EMPLOYEE_TAG}:{pk}")];
    let context = DetailContext {
        hire_year: chrono::Datelike::year(&employee.hire_date),
        employee,
    };
    site.templates()
        .render_response(&request, "directory/employee_detail.html", context)
        .await
        .map(|response| tagged(response, tags))
}

/// `/employee/new/` (login and `directory.add_employee` required), Django's `CreateView`: the
/// form; a valid POST creates the employee and redirects to its page.
pub async fn employee_new(request: Request) -> Result<Response> {
    let site = request.extension::<Site>()?.clone();
    let page = FormPage {
        heading: "New employee".to_owned(),
        action: site.reverse("directory:employee_new", &[])?,
    };
    employee_form(request, site, Employee::default(), page).await
}

/// `/employee/id/<int:pk>/edit/` (login and `directory.change_employee` required), Django's
/// `UpdateView`: the form with the employee's values; a valid POST saves them (which purges
/// the employee's cached pages on every worker) and redirects to the employee's page. 404 for
/// a missing id.
pub async fn employee_edit(request: Request) -> Result<Response> {
    let site = request.extension::<Site>()?.clone();
    let pk: i64 = request.path_param("pk")?;
    let employee = Employee::objects()
        .get(site.db(), Employee::id().exact(pk))
        .await?;
    let page = FormPage {
        heading: format!("Edit {}", employee.name),
        action: site.reverse("directory:employee_edit", &[&pk])?,
    };
    employee_form(request, site, employee, page).await
}

/// What tells the create and edit pages apart.
struct FormPage {
    heading: String,
    action: String,
}

/// The model form of `instance`: GET shows it, a valid POST saves it and redirects to the
/// employee's page, an invalid one shows the form again with its errors.
async fn employee_form(
    request: Request,
    site: Site,
    instance: Employee,
    page: FormPage,
) -> Result<Response> {
    let csrf = request.extension::<herd::csrf::CsrfToken>()?.clone();
    let (parts, body) = request.into_parts();
    let form = if parts.method == http::Method::POST {
        let body = body.collect_bytes().await?;
        let pairs =
            herd::security::parse_form(&body, herd::security::DATA_UPLOAD_MAX_NUMBER_FIELDS)?;
        let bound = EmployeeForm::bind(&pairs);
        if let Some(cleaned) = bound.cleaned_data() {
            let saved = cleaned.save(site.db(), instance).await?;
            let location = site.reverse("directory:employee_detail", &[&saved.id])?;
            return Ok(Redirect::to(&location)?.into_response());
        }
        bound
    } else if instance.pk_is_set() {
        EmployeeForm::for_instance(&instance)
    } else {
        EmployeeForm::unbound()
    };
    let request = Request::from_parts(parts, Body::empty());
    let context = FormContext {
        heading: page.heading,
        action: page.action,
        form: form.to_template_value(),
        form_csrf: csrf.hidden_input(),
    };
    site.templates()
        .render_response(&request, "directory/employee_form.html", context)
        .await
}
