//! Connection plumbing: a listener that can refuse connections, and an IO wrapper that lets a
//! handler drop or cut its own response (F3, F4) while axum/hyper still do all the HTTP work.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

const NORMAL: u8 = 0;
const DROP: u8 = 1;
const CUT: u8 = 2;

#[derive(Debug, Default)]
struct CtlInner {
    mode: AtomicU8,
    body_budget: AtomicUsize,
}

/// Per-connection switch, reachable from handlers through `ConnectInfo<ConnCtl>`.
#[derive(Debug, Clone, Default)]
pub struct ConnCtl(Arc<CtlInner>);

impl ConnCtl {
    /// No byte of the coming response reaches the client; the socket is reset.
    pub fn drop_response(&self) {
        self.0.mode.store(DROP, Ordering::SeqCst);
    }

    /// The headers and `body_bytes` bytes of the body are sent, then the socket is closed.
    pub fn cut_after_body_bytes(&self, body_bytes: usize) {
        self.0.body_budget.store(body_bytes, Ordering::SeqCst);
        self.0.mode.store(CUT, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnCtl {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.io().ctl.clone()
    }
}

/// A TCP listener that refuses (accepts then resets) the next `refuse` connections.
pub struct SimListener {
    pub inner: TcpListener,
    pub refuse: Arc<AtomicU32>,
}

impl Listener for SimListener {
    type Io = SimIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (SimIo, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((tcp, addr)) => {
                    let refused = self
                        .refuse
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if refused {
                        // RST right away: the closest a listening socket gets to "refused".
                        let _ = tcp.set_zero_linger();
                        drop(tcp);
                        continue;
                    }
                    let _ = tcp.set_nodelay(true);
                    return (
                        SimIo {
                            tcp,
                            ctl: ConnCtl::default(),
                            header_match: 0,
                            headers_done: false,
                        },
                        addr,
                    );
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// The accepted socket plus its control switch.
pub struct SimIo {
    tcp: TcpStream,
    ctl: ConnCtl,
    /// Progress through the `\r\n\r\n` that ends the response head (CUT mode).
    header_match: u8,
    headers_done: bool,
}

impl SimIo {
    /// How many bytes of `buf` may still go out in CUT mode.
    fn allowed(&self, buf: &[u8]) -> usize {
        let mut budget = self.ctl.0.body_budget.load(Ordering::SeqCst);
        let mut matched = self.header_match;
        let mut done = self.headers_done;
        for (i, b) in buf.iter().enumerate() {
            if done {
                if budget == 0 {
                    return i;
                }
                budget -= 1;
                continue;
            }
            matched = match (matched, *b) {
                (0 | 2, b'\r') => matched + 1,
                (1 | 3, b'\n') => matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if matched == 4 {
                done = true;
            }
        }
        buf.len()
    }

    fn consume(&mut self, buf: &[u8]) {
        for b in buf {
            if self.headers_done {
                let _ =
                    self.ctl
                        .0
                        .body_budget
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                continue;
            }
            self.header_match = match (self.header_match, *b) {
                (0 | 2, b'\r') => self.header_match + 1,
                (1 | 3, b'\n') => self.header_match + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if self.header_match == 4 {
                self.headers_done = true;
            }
        }
    }
}

impl AsyncRead for SimIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.ctl.0.mode.load(Ordering::SeqCst) {
            NORMAL => Pin::new(&mut self.tcp).poll_write(cx, buf),
            DROP => {
                let _ = self.tcp.set_zero_linger();
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "simulated dropped response",
                )))
            }
            _ => {
                let n = self.allowed(buf);
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "simulated connection cut mid-body",
                    )));
                }
                match Pin::new(&mut self.tcp).poll_write(cx, &buf[..n]) {
                    Poll::Ready(Ok(written)) => {
                        let sent = buf[..written].to_vec();
                        self.consume(&sent);
                        Poll::Ready(Ok(written))
                    }
                    other => other,
                }
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
