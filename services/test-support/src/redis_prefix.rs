//! A Redis key prefix of its own for one test; its keys are deleted on drop.

/// A unique key prefix on the test Redis; keys under it are deleted on drop.
#[derive(Debug)]
pub struct TestRedis {
    url: String,
    prefix: String,
}

impl TestRedis {
    /// Picks a prefix `herd-test-<uuid>:` and checks that Redis answers.
    ///
    /// # Panics
    ///
    /// When Redis does not answer: run the tests with `make test`, which starts it.
    pub async fn new() -> Self {
        let url = std::env::var("HERD_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned());
        let prefix = format!("herd-test-{}:", uuid::Uuid::new_v4().simple());
        let this = Self { url, prefix };
        let mut connection = this.connection().await;
        let _: String = redis::cmd("PING").query_async(&mut connection).await.unwrap_or_else(|err| {
            panic!("Redis does not answer at {} ({err}); run the tests with `make test`, which starts it", this.url)
        });
        this
    }

    /// The Redis URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The prefix every key of this test must start with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A new multiplexed connection.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let client =
            redis::Client::open(self.url.as_str()).expect("HERD_TEST_REDIS_URL is a Redis URL");
        client.get_multiplexed_async_connection().await.unwrap_or_else(|err| {
            panic!("Redis does not answer at {} ({err}); run the tests with `make test`, which starts it", self.url)
        })
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let url = self.url.clone();
        let pattern = format!("{}*", self.prefix);
        let _ = std::thread::spawn(move || {
            let client = redis::Client::open(url.as_str()).ok()?;
            let mut connection = client.get_connection().ok()?;
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(&pattern)
                .query(&mut connection)
                .ok()?;
            if !keys.is_empty() {
                let _: i64 = redis::cmd("DEL").arg(keys).query(&mut connection).ok()?;
            }
            Some(())
        })
        .join();
    }
}
