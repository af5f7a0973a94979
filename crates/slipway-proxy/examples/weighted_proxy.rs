//! Runs the weighted proxy standalone, e.g. for `bench/rollout`:
//!
//! ```text
//! weighted_proxy --listen 127.0.0.1:8080 --admin 127.0.0.1:9090 \
//!     --backend stable=127.0.0.1:3001,127.0.0.1:3002@9500 --backend canary=127.0.0.1:3003@500
//! ```
//!
//! Prints `weighted_proxy listening on http://ADDR` once it accepts connections, and shuts down
//! gracefully on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use slipway_proxy::{Backend, ProxyConfig, Routes, Stickiness};

#[derive(Parser)]
#[command(about = "Slipway's weighted reverse proxy, standalone")]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Address of the admin listener (/metrics, /api/versions).
    #[arg(long)]
    admin: Option<SocketAddr>,
    /// The `environment` label of the metrics.
    #[arg(long, default_value = "local")]
    environment: String,
    /// A version: VERSION=ADDR[,ADDR...]@WEIGHT_BP (weights sum to 10000). Repeat, oldest first.
    #[arg(long = "backend", required = true, value_parser = parse_backend)]
    backends: Vec<Backend>,
    /// Pin clients by the value of this request header.
    #[arg(long, conflicts_with = "sticky_cookie")]
    sticky_header: Option<String>,
    /// Pin clients by the value of this cookie.
    #[arg(long)]
    sticky_cookie: Option<String>,
    /// Per-request upstream timeout (connect + response head), in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    upstream_timeout_ms: u64,
}

fn parse_backend(text: &str) -> Result<Backend, String> {
    let usage = "expected VERSION=ADDR[,ADDR...]@WEIGHT_BP, e.g. stable=127.0.0.1:3000@10000";
    let (version, rest) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: no '=': {usage}"))?;
    let (addresses, weight) = rest
        .rsplit_once('@')
        .ok_or_else(|| format!("{text:?}: no '@WEIGHT_BP': {usage}"))?;
    let weight_bp = weight.parse().map_err(|_| {
        format!("{text:?}: weight {weight:?} is not a whole number of basis points")
    })?;
    let instances = addresses
        .split(',')
        .filter(|address| !address.is_empty())
        .map(|address| {
            address
                .parse()
                .map_err(|_| format!("{text:?}: {address:?} is not an IP:PORT address"))
        })
        .collect::<Result<Vec<SocketAddr>, String>>()?;
    Ok(Backend::new(version, weight_bp, instances))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let stickiness = match (args.sticky_header, args.sticky_cookie) {
        (Some(header), _) => Some(Stickiness::Header(header)),
        (None, Some(cookie)) => Some(Stickiness::Cookie(cookie)),
        (None, None) => None,
    };
    let config = ProxyConfig {
        environment: args.environment,
        listen: args.listen,
        admin_listen: args.admin,
        stickiness,
        upstream_timeout: Duration::from_millis(args.upstream_timeout_ms),
    };
    let routes = Routes {
        backends: args.backends,
    };
    let proxy = match slipway_proxy::start(config, routes).await {
        Ok(proxy) => proxy,
        Err(error) => {
            eprintln!("weighted_proxy: {error}");
            return ExitCode::from(2);
        }
    };
    println!("weighted_proxy listening on http://{}", proxy.address());
    if let Some(admin) = proxy.admin_address() {
        println!("weighted_proxy admin on http://{admin}");
    }
    wait_for_stop_signal().await;
    proxy.shutdown_within(Duration::from_secs(5)).await;
    ExitCode::SUCCESS
}

async fn wait_for_stop_signal() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
