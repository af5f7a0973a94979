//! Accept loop and per-connection request loop.

use std::io::{self, BufRead, BufReader, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::handlers::App;
use crate::http;

/// Connections served at once. Each holds a thread, so this also bounds the
/// thread count; further clients wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// How long an idle keep-alive connection may hold its thread.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest pause allowed between reads once a request has started.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bounds on draining a client after an error response; see [`linger`].
const LINGER_TIMEOUT: Duration = Duration::from_secs(2);
const LINGER_MAX_BYTES: usize = 1024 * 1024;

/// Serves `listener` forever. Taking a bound listener (rather than an
/// address) lets tests bind port 0 and learn the port before serving.
pub fn serve(listener: TcpListener, app: Arc<App>) -> ! {
    let slots = Arc::new(Slots::new(MAX_CONNECTIONS));
    app.set_ready(app.starts_ready());
    loop {
        let slot = Slots::acquire(&slots);
        match listener.accept() {
            Ok((stream, _)) => {
                let app = Arc::clone(&app);
                let spawned = thread::Builder::new()
                    .name("hello-conn".into())
                    .spawn(move || {
                        let _slot = slot;
                        // Errors here mean the peer went away or stalled;
                        // there is nobody left to tell.
                        let _ = handle_connection(&stream, &app);
                    });
                if let Err(err) = spawned {
                    eprintln!("hello-service: cannot spawn connection thread: {err}");
                }
            }
            Err(err) => {
                eprintln!("hello-service: accept failed: {err}");
                // Errors such as EMFILE persist for a while; don't spin on them.
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn handle_connection(stream: &TcpStream, app: &App) -> io::Result<()> {
    // Responses are written in one piece; Nagle would only hold them back.
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    loop {
        // Wait for the next request with the shorter idle timeout; silence or
        // EOF here is a normal end of a keep-alive connection.
        stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
        if reader.fill_buf()?.is_empty() {
            return Ok(());
        }
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        let request = match http::read_request(&mut reader) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            // After a parse error the stream position is unknown: answer, then close.
            Err(err) => {
                if let Some(response) = err.response() {
                    response.write_to(&mut writer, false, false)?;
                    linger(stream)?;
                }
                return Ok(());
            }
        };
        let response = app.handle(&request);
        let head_only = request.method == "HEAD";
        response.write_to(&mut writer, request.keep_alive, head_only)?;
        if !request.keep_alive {
            return Ok(());
        }
    }
}

/// After an error response the client may still be sending (an overlong
/// line, a body we refused). Closing a socket with unread input makes the
/// kernel send RST, which can destroy the response before the client reads
/// it; so half-close and drain for a bounded time first, like nginx's
/// lingering close.
fn linger(mut stream: &TcpStream) -> io::Result<()> {
    stream.shutdown(Shutdown::Write)?;
    let deadline = Instant::now() + LINGER_TIMEOUT;
    let mut buf = [0; 8192];
    let mut drained = 0;
    while drained < LINGER_MAX_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buf)? {
            0 => break,
            n => drained += n,
        }
    }
    Ok(())
}

/// A counting semaphore bounding concurrent connections.
struct Slots {
    used: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

struct Slot(Arc<Slots>);

impl Slots {
    fn new(max: usize) -> Self {
        Slots {
            used: Mutex::new(0),
            freed: Condvar::new(),
            max,
        }
    }

    fn acquire(slots: &Arc<Slots>) -> Slot {
        let mut used = slots.used.lock().unwrap_or_else(PoisonError::into_inner);
        while *used >= slots.max {
            used = slots
                .freed
                .wait(used)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *used += 1;
        Slot(Arc::clone(slots))
    }
}

impl Drop for Slot {
    // Runs on normal return, on panic in the connection thread, and when the
    // thread could not be spawned, so a slot is never leaked.
    fn drop(&mut self) {
        *self.0.used.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn slots_block_at_the_limit_and_free_on_drop() {
        let slots = Arc::new(Slots::new(2));
        let first = Slots::acquire(&slots);
        let _second = Slots::acquire(&slots);
        let (tx, rx) = mpsc::channel();
        let waiter = {
            let slots = Arc::clone(&slots);
            thread::spawn(move || {
                let _third = Slots::acquire(&slots);
                tx.send(()).unwrap();
            })
        };
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        drop(first);
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        waiter.join().unwrap();
        assert_eq!(*slots.used.lock().unwrap(), 1);
    }
}
