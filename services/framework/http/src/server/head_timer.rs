//! hyper's HTTP/1 header timer, taught to tell a slow request head from an idle keep-alive
//! connection.
//!
//! hyper arms `header_read_timeout` as soon as it starts waiting for a request, so on its own it
//! closes an idle keep-alive connection after the header timeout (10 s), sooner than a router
//! keeps its pooled connections (30 s), which then fail on reuse. [`HeadTimer`] gives each of
//! hyper's header sleeps two deadlines: while no byte of the next request has arrived, the
//! connection is idle and may stay for `keep_alive_timeout` (75 s); from the first byte on, the
//! head must be complete within the header timeout. The first request's head started before
//! hyper saw the connection (its first bytes were read to tell HTTP/1 from HTTP/2), so its
//! sleep counts as started at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};
use pin_project_lite::pin_project;

/// What the connection's reader saw, shared with its header sleeps.
#[derive(Debug)]
pub(super) struct Activity {
    /// Reads that returned bytes from the socket.
    reads: AtomicU64,
    /// Whether the next sleep is the connection's first, whose head has already begun.
    first: AtomicBool,
}

/// hyper's HTTP/1 timer for one connection; see the module documentation.
#[derive(Clone, Debug)]
pub(super) struct HeadTimer {
    activity: Arc<Activity>,
    header_timeout: Duration,
    keep_alive_timeout: Duration,
}

pin_project! {
    /// One wait for a request head.
    struct HeadSleep {
        timer: HeadTimer,
        // When hyper started waiting.
        waiting_since: Instant,
        // The socket reads seen when it did.
        reads_then: u64,
        // When the first byte of the head came, once it has.
        head_since: Option<Instant>,
        #[pin]
        sleep: tokio::time::Sleep,
    }
}

// === impl Activity ===

impl Activity {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            reads: AtomicU64::new(0),
            first: AtomicBool::new(true),
        })
    }

    /// Called by the connection's reader for every read that returned bytes.
    pub(super) fn record_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

// === impl HeadTimer ===

impl HeadTimer {
    pub(super) fn new(
        activity: Arc<Activity>,
        header_timeout: Duration,
        keep_alive_timeout: Duration,
    ) -> Self {
        Self {
            activity,
            header_timeout,
            keep_alive_timeout,
        }
    }

    /// hyper asks for the header timeout's deadline; the wait began that long before it.
    fn waiting_since(&self, deadline: Instant) -> Instant {
        deadline
            .checked_sub(self.header_timeout)
            .unwrap_or(deadline)
    }
}

impl Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        let waiting_since = self.waiting_since(deadline);
        let first = self.activity.first.swap(false, Ordering::Relaxed);
        let head_since = first.then_some(waiting_since);
        let effective = effective_deadline(self, waiting_since, head_since);
        Box::pin(HeadSleep {
            timer: self.clone(),
            waiting_since,
            reads_then: self.activity.reads(),
            head_since,
            sleep: tokio::time::sleep_until(effective.into()),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HeadSleep>() {
            Some(head) => head.restart(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

// === impl HeadSleep ===

impl HeadSleep {
    /// The deadline in force.
    #[cfg(test)]
    fn deadline(&self) -> Instant {
        effective_deadline(&self.timer, self.waiting_since, self.head_since)
    }

    /// hyper waits for another head with the same sleep.
    fn restart(self: Pin<&mut Self>, deadline: Instant) {
        let mut this = self.project();
        *this.waiting_since = this.timer.waiting_since(deadline);
        *this.reads_then = this.timer.activity.reads();
        *this.head_since = None;
        let effective = *this.waiting_since + this.timer.keep_alive_timeout;
        this.sleep.as_mut().reset(effective.into());
    }
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        // hyper polls the sleep each time the socket wakes it, so the first poll after the
        // head's first bytes arrive moves the deadline to the header timeout.
        if this.head_since.is_none() && this.timer.activity.reads() != *this.reads_then {
            let now = Instant::now();
            *this.head_since = Some(now);
            this.sleep
                .as_mut()
                .reset((now + this.timer.header_timeout).into());
        }
        this.sleep.poll(cx)
    }
}

impl Sleep for HeadSleep {}

/// The header timeout from the head's first byte, or the keep-alive timeout from the start of
/// the wait while no byte has come.
fn effective_deadline(
    timer: &HeadTimer,
    waiting_since: Instant,
    head_since: Option<Instant>,
) -> Instant {
    match head_since {
        Some(since) => since + timer.header_timeout,
        None => waiting_since + timer.keep_alive_timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer() -> (HeadTimer, Arc<Activity>) {
        let activity = Activity::new();
        let timer = HeadTimer::new(
            Arc::clone(&activity),
            Duration::from_secs(10),
            Duration::from_secs(75),
        );
        (timer, activity)
    }

    fn deadline_of(sleep: &mut Pin<Box<dyn Sleep>>) -> Instant {
        sleep
            .as_mut()
            .downcast_mut_pin::<HeadSleep>()
            .map(|sleep| sleep.deadline())
            .unwrap()
    }

    #[tokio::test]
    async fn the_first_head_has_the_header_timeout_and_an_idle_wait_the_keep_alive_timeout() {
        let (timer, activity) = timer();
        let start = Instant::now();
        let mut first = timer.sleep_until(start + Duration::from_secs(10));
        assert_eq!(deadline_of(&mut first), start + Duration::from_secs(10));

        let next = Instant::now();
        let mut idle = timer.sleep_until(next + Duration::from_secs(10));
        assert_eq!(deadline_of(&mut idle), next + Duration::from_secs(75));

        activity.record_read();
        let before = Instant::now();
        assert!(futures_util::poll!(idle.as_mut()).is_pending());
        let deadline = deadline_of(&mut idle);
        assert!(deadline >= before + Duration::from_secs(10));
        assert!(deadline < before + Duration::from_secs(11), "{deadline:?}");
    }

    #[tokio::test]
    async fn a_reset_sleep_waits_idle_again() {
        let (timer, activity) = timer();
        let mut sleep = timer.sleep_until(Instant::now() + Duration::from_secs(10));
        activity.record_read();
        let now = Instant::now();
        timer.reset(&mut sleep, now + Duration::from_secs(10));
        assert_eq!(deadline_of(&mut sleep), now + Duration::from_secs(75));
    }
}
