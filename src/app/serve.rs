//! The HTTP server loop: hyper connections that must send their headers within
//! `header_read_timeout_secs` (the same timer closes a keep-alive connection idle that
//! long), and at most `max_connections` open at once, so idle or slow clients cannot use up
//! the process's file descriptors (`/healthz` included). axum's own `serve` sets neither.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::config::Limits;
use crate::metrics::names;

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Longest wait for a request's headers, counted from the connection's start or the end
    /// of its previous response.
    pub header_read_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl ServeOptions {
    /// From `[limits]`; `max_connections = 0` is three quarters of the file limit.
    pub fn from_limits(limits: &Limits) -> ServeOptions {
        let max_connections = match limits.max_connections {
            0 => {
                let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(s, _)| s);
                connections_for_file_limit(soft)
            }
            n => n,
        };
        ServeOptions {
            header_read_timeout: Duration::from_secs(limits.header_read_timeout_secs),
            max_connections,
        }
    }
}

/// The default connection cap under a file limit: three quarters of it, so the database,
/// the Genesys clients, the built-in org and the log keep descriptors of their own.
pub fn connections_for_file_limit(soft_limit: u64) -> usize {
    usize::try_from(soft_limit.saturating_mul(3) / 4)
        .unwrap_or(usize::MAX)
        .max(16)
}

/// The open connections, oldest first, each with its requests under way.
#[derive(Default)]
struct Registry {
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, Open>>,
    at_limit: AtomicBool,
    /// Woken when a connection has closed.
    freed: tokio::sync::Notify,
}

struct Open {
    /// Requests of this connection whose response has not been sent whole.
    busy: Arc<AtomicUsize>,
    close: CancellationToken,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Open>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add(&self, close: CancellationToken) -> (u64, Arc<AtomicUsize>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let busy = Arc::new(AtomicUsize::new(0));
        let mut open = self.lock();
        open.insert(
            id,
            Open {
                busy: busy.clone(),
                close,
            },
        );
        metrics::gauge!(names::HTTP_CONNECTIONS).set(open.len() as f64);
        (id, busy)
    }

    fn remove(&self, id: u64) {
        let mut open = self.lock();
        open.remove(&id);
        metrics::gauge!(names::HTTP_CONNECTIONS).set(open.len() as f64);
        drop(open);
        self.freed.notify_waiters();
    }

    /// Makes room for one more connection when `max` are open: closes the oldest one with
    /// no request under way (a client that sends nothing, or sends its headers slowly).
    fn make_room(&self, max: usize) -> Room {
        let open = self.lock();
        if open.len() < max {
            self.at_limit.store(false, Ordering::Relaxed);
            return Room::Free;
        }
        // Connections already told to close still hold their descriptors for a moment.
        let closing = open.values().filter(|o| o.close.is_cancelled()).count();
        if !self.at_limit.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                max_connections = max,
                "connection limit reached ([limits] max_connections): closing idle connections \
                 to make room, refusing new ones while none is idle"
            );
        }
        // Past a small margin of closing ones, wait for them rather than run out of
        // descriptors; a loaded machine may take a while to run their tasks.
        if closing > max / 8 {
            return Room::Wait;
        }
        let idle = open
            .values()
            .find(|o| !o.close.is_cancelled() && o.busy.load(Ordering::SeqCst) == 0);
        match idle {
            Some(o) => {
                o.close.cancel();
                metrics::counter!(names::HTTP_CONNECTION_LIMIT, "action" => "evicted").increment(1);
                Room::Evicted
            }
            None if closing > 0 => Room::Wait,
            None => {
                metrics::counter!(names::HTTP_CONNECTION_LIMIT, "action" => "refused").increment(1);
                Room::Full
            }
        }
    }
}

/// What the accept loop may do with a new connection at the cap.
#[derive(Debug, PartialEq, Eq)]
enum Room {
    /// Below the cap.
    Free,
    /// An idle connection was told to close to make room.
    Evicted,
    /// Connections are closing: room is coming, wait for it.
    Wait,
    /// Every connection is working: refuse the new one.
    Full,
}

/// The longest a new connection waits for closing ones to free their descriptors; past it,
/// it is refused rather than stall the accept loop behind a connection that will not close.
const ROOM_WAIT: Duration = Duration::from_secs(5);

/// Waits until `registry` has room for one more connection: `false` when there is none
/// (refuse it) or the service is shutting down.
async fn wait_for_room(registry: &Registry, max: usize, shutdown: &CancellationToken) -> bool {
    let deadline = tokio::time::Instant::now() + ROOM_WAIT;
    loop {
        // Armed before the check, so a connection closing in between still wakes us.
        let freed = registry.freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        match registry.make_room(max) {
            Room::Free | Room::Evicted => return true,
            Room::Full => return false,
            Room::Wait => {}
        }
        tokio::select! {
            () = freed => {}
            () = tokio::time::sleep_until(deadline) => {
                metrics::counter!(names::HTTP_CONNECTION_LIMIT, "action" => "refused").increment(1);
                return false;
            }
            () = shutdown.cancelled() => return false,
        }
    }
}

/// Counts a request as under way on its connection until its response body is done.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(counter: &Arc<AtomicUsize>) -> Busy {
        counter.fetch_add(1, Ordering::SeqCst);
        Busy(counter.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request counted (an event stream stays busy while open).
struct Guarded {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled; then stops accepting, lets
/// every connection finish its response (idle ones close at once) and returns when all
/// have closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: CancellationToken,
) {
    let registry = Arc::new(Registry::default());
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = shutdown.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors (below the cap: the log or the database took them) or a
                // connection reset before it was accepted: pause rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !wait_for_room(&registry, options.max_connections, &shutdown).await {
            drop(stream);
            continue;
        }
        let close = shutdown.child_token();
        let (id, busy) = registry.add(close.clone());
        let registry = registry.clone();
        let router = router.clone();
        connections.spawn(async move {
            serve_connection(stream, router, options, busy, close).await;
            registry.remove(id);
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    options: ServeOptions,
    busy: Arc<AtomicUsize>,
    close: CancellationToken,
) {
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let guard = Busy::new(&busy);
        let call = router.clone().oneshot(req.map(Body::new));
        async move {
            let resp = call.await?;
            Ok::<_, std::convert::Infallible>(resp.map(|inner| Guarded {
                inner,
                _busy: guard,
            }))
        }
    });
    // HTTP/1 only: hyper-util's automatic HTTP/2 detection reads the first bytes with no
    // timeout, so a client that sends nothing would hold its connection for ever.
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = close.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_a_quarter_of_the_file_limit() {
        assert_eq!(connections_for_file_limit(1024), 768);
        assert_eq!(connections_for_file_limit(0), 16);
        assert_eq!(connections_for_file_limit(1_000_000), 750_000);
    }

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room_and_busy_ones_stay() {
        let r = Registry::default();
        let (a, b) = (CancellationToken::new(), CancellationToken::new());
        let (_, busy_a) = r.add(a.clone());
        r.add(b.clone());
        let _working = Busy::new(&busy_a);

        assert_eq!(r.make_room(3), Room::Free, "below the cap");
        assert_eq!(r.make_room(2), Room::Evicted, "b is idle");
        assert!(!a.is_cancelled() && b.is_cancelled());
        assert_eq!(r.make_room(2), Room::Wait, "a is working, b is closing");
    }

    #[test]
    fn at_the_cap_with_every_connection_working_the_new_one_is_refused() {
        let r = Registry::default();
        let (_, busy) = r.add(CancellationToken::new());
        let _working = Busy::new(&busy);
        assert_eq!(r.make_room(1), Room::Full);
    }

    #[test]
    fn past_the_margin_of_closing_connections_new_ones_wait_for_them() {
        let r = Registry::default();
        // max 8: the margin is one closing connection.
        let tokens: Vec<_> = (0..8).map(|_| CancellationToken::new()).collect();
        let ids: Vec<_> = tokens.iter().map(|t| r.add(t.clone()).0).collect();
        assert_eq!(r.make_room(8), Room::Evicted);
        assert_eq!(
            r.make_room(8),
            Room::Evicted,
            "one closing is within the margin"
        );
        assert_eq!(r.make_room(8), Room::Wait, "two closing are past it");
        r.remove(ids[0]);
        assert_eq!(r.make_room(8), Room::Free, "a closed one made room");
    }

    #[tokio::test]
    async fn a_waiting_connection_gets_in_when_a_closing_one_is_gone() {
        let r = Arc::new(Registry::default());
        let (id, busy) = r.add(CancellationToken::new());
        let working = Busy::new(&busy);
        r.lock().get(&id).unwrap().close.cancel();
        let shutdown = CancellationToken::new();
        let waiter = tokio::spawn({
            let (r, shutdown) = (r.clone(), shutdown.clone());
            async move { wait_for_room(&r, 1, &shutdown).await }
        });
        drop(working);
        r.remove(id);
        assert!(waiter.await.unwrap());
    }
}
