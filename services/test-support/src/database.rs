//! A Postgres database of its own for one test, dropped when the test ends.

use tokio_postgres::NoTls;

/// The server that tests create their databases on.
fn admin_url() -> String {
    std::env::var("HERD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A freshly created, uniquely named database; dropped (with its connections) on drop.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates an empty database named `herd_test_<uuid>`.
    ///
    /// # Panics
    ///
    /// When Postgres does not answer: run the tests with `make test`, which starts it.
    pub async fn new() -> Self {
        let name = format!("herd_test_{}", uuid::Uuid::new_v4().simple());
        let admin = admin_connection().await;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|err| panic!("could not create test database {name}: {err}"));
        let url = with_database(&admin_url(), &name);
        Self { name, url }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `postgres://` URL that connects to this database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run inside a runtime, where blocking on another is not allowed: use a thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let (client, connection) = tokio_postgres::connect(&admin_url(), NoTls).await?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if let Ok(Err(err)) = dropped {
            eprintln!("warning: could not drop test database {}: {err}", self.name);
        }
    }
}

async fn admin_connection() -> tokio_postgres::Client {
    let url = admin_url();
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap_or_else(|err| {
        panic!("Postgres does not answer at {url} ({err}); run the tests with `make test`, which starts it")
    });
    tokio::spawn(connection);
    client
}

/// Replaces the database name (the URL path) of a `postgres://` URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://h:1/db?sslmode=disable", "t"),
            "postgres://h:1/t?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t"), "postgres://h/t");
    }

    #[tokio::test]
    async fn a_test_database_is_created_and_dropped() {
        let db = TestDatabase::new().await;
        let (client, connection) = tokio_postgres::connect(db.url(), NoTls).await.unwrap();
        tokio::spawn(connection);
        let row = client
            .query_one("SELECT current_database()", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), db.name());
        drop(client);
        let name = db.name().to_owned();
        drop(db);
        let admin = admin_connection().await;
        let left = admin
            .query("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .unwrap();
        assert!(left.is_empty());
    }
}
