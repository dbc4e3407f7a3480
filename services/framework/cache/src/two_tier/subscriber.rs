//! The invalidation subscriber: one RESP3 connection per backend instance, kept alive by its
//! own reconnect loop.
//!
//! The loop connects, records the connection's `CLIENT ID`, subscribes, and only then flushes
//! L1: anything published while no subscription existed was missed, so nothing L1 held before
//! that moment can be trusted (RELIABILITY.md §3, `source="resync"`). It then evicts on every
//! message from another instance until the connection drops or a health `PING` fails, and
//! starts over with a capped backoff. Redis being down at start is just the first failed turn
//! of the loop, so the backend never waits for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, PushInfo, PushKind, Value};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;

use super::invalidation::{Epochs, Evict, Invalidation};
use super::metrics::TwoTierMetrics;
use crate::backend::Backend;
use crate::local::LocalBackend;

/// Connect timeout of the subscriber connection (RELIABILITY.md §1).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Response timeout for the subscriber's own commands; looser than the data path's 200 ms so
/// a busy box does not tear down a healthy subscription.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// How often a quiet subscription proves the server still answers (a hung server never
/// closes the socket, and its messages would silently stop).
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// One WARN per this long about the subscription being down.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// What the subscriber task shares with the backend.
pub(crate) struct Shared {
    pub(crate) l1: LocalBackend,
    pub(crate) epochs: Epochs,
    pub(crate) metrics: TwoTierMetrics,
    /// This instance's id in messages.
    pub(crate) origin: String,
    pub(crate) channel: String,
    /// `CLIENT ID` of the live subscriber connection, 0 while there is none.
    client_id: AtomicI64,
    /// How many times the subscription has been established.
    subscriptions: watch::Sender<u64>,
    last_warn_ms: AtomicU64,
}

impl Shared {
    pub(crate) fn new(l1: LocalBackend, origin: String, channel: String) -> Self {
        Self {
            l1,
            epochs: Epochs::new(),
            metrics: TwoTierMetrics::default(),
            origin,
            channel,
            client_id: AtomicI64::new(0),
            subscriptions: watch::Sender::new(0),
            last_warn_ms: AtomicU64::new(0),
        }
    }

    /// The `CLIENT ID` of the live subscriber connection.
    pub(crate) fn client_id(&self) -> Option<i64> {
        Some(self.client_id.load(Ordering::Acquire)).filter(|id| *id != 0)
    }

    pub(crate) fn subscriptions(&self) -> watch::Receiver<u64> {
        self.subscriptions.subscribe()
    }

    /// Evicts `key` from L1 so that no fill racing with this eviction survives it.
    pub(crate) async fn evict(&self, key: &str) {
        self.epochs.bump(key);
        let _ = Backend::delete(&self.l1, key).await;
    }

    /// Empties L1, as [`Shared::evict`] for every key.
    pub(crate) fn evict_all(&self) {
        self.epochs.bump_all();
        self.l1.invalidate_all();
    }

    async fn apply(&self, payload: &[u8]) {
        let Some(message) = Invalidation::decode(payload) else {
            tracing::debug!(channel = %self.channel, "ignoring a malformed invalidation message");
            return;
        };
        if message.origin == self.origin {
            // The writer already holds the value it wrote; evicting it would cost a Redis read.
            return;
        }
        self.metrics.invalidation_received();
        match message.evict {
            Evict::Keys(keys) => {
                for key in &keys {
                    self.evict(key).await;
                }
            }
            Evict::All => self.evict_all(),
        }
    }

    fn warn_rate_limited(&self, err: &redis::RedisError) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
            });
        let last = self.last_warn_ms.load(Ordering::Relaxed);
        let every = u64::try_from(WARN_EVERY.as_millis()).unwrap_or(u64::MAX);
        if now_ms.saturating_sub(last) >= every
            && self
                .last_warn_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(channel = %self.channel, error = %err, "cache invalidation subscription is down; L1 entries live at most 5 s");
        }
    }
}

/// Keeps a subscription on `shared.channel` alive for as long as the task runs.
pub(crate) async fn run(shared: Arc<Shared>, client: redis::Client) {
    let mut backoff = MIN_BACKOFF;
    let mut established: u64 = 0;
    loop {
        let (sender, mut pushes) = tokio::sync::mpsc::unbounded_channel();
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_push_sender(sender);
        match subscribe(&client, &config, &shared.channel).await {
            Ok((mut connection, client_id)) => {
                backoff = MIN_BACKOFF;
                shared.client_id.store(client_id, Ordering::Release);
                shared.evict_all();
                if established > 0 {
                    shared.metrics.resync();
                    tracing::info!(channel = %shared.channel, "cache invalidation subscription re-established; L1 flushed");
                }
                established += 1;
                shared.subscriptions.send_replace(established);
                listen(&shared, &mut connection, &mut pushes).await;
                shared.client_id.store(0, Ordering::Release);
            }
            Err(err) => shared.warn_rate_limited(&err),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn subscribe(
    client: &redis::Client,
    config: &AsyncConnectionConfig,
    channel: &str,
) -> redis::RedisResult<(MultiplexedConnection, i64)> {
    let mut connection = client
        .get_multiplexed_async_connection_with_config(config)
        .await?;
    let client_id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut connection)
        .await?;
    connection.subscribe(channel).await?;
    Ok((connection, client_id))
}

/// Applies messages until the connection is lost.
async fn listen(
    shared: &Shared,
    connection: &mut MultiplexedConnection,
    pushes: &mut UnboundedReceiver<PushInfo>,
) {
    let mut health = tokio::time::interval(HEALTH_INTERVAL);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    health.tick().await;
    loop {
        tokio::select! {
            push = pushes.recv() => match push {
                None | Some(PushInfo { kind: PushKind::Disconnection, .. }) => return,
                Some(PushInfo { kind: PushKind::Message, data }) => {
                    if let Some(Value::BulkString(payload)) = data.get(1) {
                        shared.apply(payload).await;
                    }
                }
                // Subscribe confirmations and anything else carry nothing to evict.
                Some(_) => {}
            },
            _ = health.tick() => {
                let pong: redis::RedisResult<Value> = redis::cmd("PING").query_async(connection).await;
                if let Err(err) = pong {
                    shared.warn_rate_limited(&err);
                    return;
                }
            }
        }
    }
}
