use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;

use hello_service::{rng, serve, App, Config};

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("hello-service: {err}");
            return ExitCode::from(2);
        }
    };
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = match TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("hello-service: cannot listen on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    // With PORT=0 only the listener knows the real port.
    let addr = listener.local_addr().unwrap_or(addr);
    let seed = config.seed.unwrap_or_else(rng::seed_from_clock);
    eprintln!(
        "hello-service: version={} error_rate={} latency_ms={} seed={seed} api_key={}",
        config.version,
        config.error_rate,
        config.latency,
        if config.api_key.is_some() {
            "set"
        } else {
            "unset"
        }
    );

    let app = Arc::new(App::new(&config, seed));
    // Supervisors watch for this line; a closed stdout must not stop the
    // service, so write errors are ignored rather than panicking in println!.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "hello-service listening on http://{addr}");
    let _ = stdout.flush();
    drop(stdout);

    serve(listener, app)
}
