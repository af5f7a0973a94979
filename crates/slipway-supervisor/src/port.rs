//! Ports on the loopback interface.

use std::net::{Ipv4Addr, TcpListener};

use crate::error::SupervisorError;

/// A port that was free on 127.0.0.1 a moment ago: binds port 0, reads the port the kernel
/// chose, and releases it.
///
/// Between this call and the instance's own bind another process may take the port. `start`
/// checks the port again right before spawning and fails with
/// [`SupervisorError::PortInUse`]; if the port is taken after that check, the child fails to
/// bind and exits, and the supervisor restarts it under the policy while the `Exited`
/// description, `wait_ready`'s reason and the final `Failed` reason say that the port is in
/// use by another process.
pub fn free_port() -> Result<u16, SupervisorError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|source| SupervisorError::FreePort { source })?;
    let port = listener
        .local_addr()
        .map_err(|source| SupervisorError::FreePort { source })?
        .port();
    Ok(port)
}

/// Whether something listens on `127.0.0.1:{port}` (or on all interfaces) now.
pub(crate) fn port_in_use(port: u16) -> bool {
    matches!(
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)),
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_is_free_and_a_bound_one_is_not() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        assert!(!port_in_use(port));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
        assert!(port_in_use(port));
        drop(listener);
    }
}
