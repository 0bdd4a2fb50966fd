//! The `inkroom` binary: parses the command line, starts logging and runs the server.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

use clap::Parser;
use inkroom::config::Config;

/// inkroom: draw together on one canvas in the browser.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "INKROOM_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory for the room store.
    #[arg(long, env = "INKROOM_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
}

fn main() {
    if let Err(e) = serve(Args::parse()) {
        eprintln!("inkroom: {e}");
        std::process::exit(1);
    }
}

fn serve(args: Args) -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("INKROOM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let config = Config {
        addr: args.addr,
        data_dir: args.data_dir,
        ..Config::default()
    };
    let listener = TcpListener::bind(config.addr).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", config.addr))
    })?;
    let local = listener.local_addr()?;
    actix_web::rt::System::new().block_on(async move {
        let server = inkroom::server::run(listener, config, true)?;
        // Tests and scripts read this line to learn the port.
        println!("inkroom listening on http://{local}");
        tracing::info!(%local, "serving");
        server.await
    })
}
