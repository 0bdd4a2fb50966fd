//! The `inkroom` binary: serves boards (the default), or exports a stored board as PNG.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use inkroom::config::Config;

/// inkroom: draw together on one canvas in the browser.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve boards over HTTP and WebSocket (the default).
    Serve(ServeArgs),
    /// Write a stored board as PNG, with the server stopped.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "INKROOM_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory for the room store.
    #[arg(long, env = "INKROOM_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Another origin (scheme://host[:port]) whose pages may open boards, e.g. behind a proxy.
    /// Repeat for several; the server's own origin is always allowed.
    #[arg(
        long = "allow-origin",
        env = "INKROOM_ALLOW_ORIGINS",
        value_delimiter = ','
    )]
    allow_origins: Vec<String>,
    /// Serve https and wss with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "INKROOM_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "INKROOM_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Largest the database may grow, in bytes; past it rooms turn read-only until space is
    /// freed.
    #[arg(long, env = "INKROOM_MAX_STORE_BYTES")]
    max_store_bytes: Option<u64>,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Directory of the room store.
    #[arg(long, env = "INKROOM_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The room's id.
    #[arg(long)]
    room: uuid::Uuid,
    /// Where to write the PNG.
    #[arg(long)]
    out: PathBuf,
    /// Scale factor, 0.1 to 4.
    #[arg(long, default_value_t = 1.0)]
    scale: f32,
    /// Leave out the background color.
    #[arg(long)]
    transparent: bool,
}

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("INKROOM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Some(Command::Export(args)) => export(args),
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
    };
    if let Err(e) = result {
        eprintln!("inkroom: {e}");
        std::process::exit(1);
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let config = Config {
        addr: args.addr,
        data_dir: args.data_dir,
        allowed_origins: args.allow_origins,
        max_store_bytes: args.max_store_bytes,
        tls: args
            .tls_cert
            .zip(args.tls_key)
            .map(|(cert, key)| inkroom::config::TlsFiles { cert, key }),
        ..Config::default()
    };
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    raise_open_files_limit();
    let listener = TcpListener::bind(config.addr)
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    actix_web::rt::System::new()
        .block_on(async move {
            let server = inkroom::server::run(listener, config, true)?;
            // Tests and scripts read this line to learn the port.
            println!("inkroom listening on {scheme}://{local}");
            tracing::info!(%local, "serving");
            server.await
        })
        .map_err(|e| e.to_string())
}

/// Every member holds a socket: raises the soft open-files limit to the hard limit (a room may
/// hold 10,000 viewers) and logs what it got.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files limit"),
        Err(e) => tracing::warn!("could not raise the open files limit: {e}"),
    }
}

fn export(args: ExportArgs) -> Result<(), String> {
    if !(0.1..=4.0).contains(&args.scale) {
        return Err("--scale must be between 0.1 and 4".into());
    }
    let config = Config::default();
    let store = inkroom::store::Store::open(&args.data_dir, true).map_err(|e| e.to_string())?;
    let stored = store
        .load_room(args.room)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no room {} in {}", args.room, args.data_dir.display()))?;
    let (meta, doc) = inkroom::room::rebuild(stored, &config).map_err(|e| e.to_string())?;
    let background = (!args.transparent).then_some(meta.background);
    let png = doc
        .canvas()
        .snapshot()
        .export_png(background, args.scale)
        .ok_or("the export is too large for memory")?;
    std::fs::write(&args.out, png)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    eprintln!(
        "inkroom: wrote {} ({}x{} at scale {}, seq {})",
        args.out.display(),
        meta.width,
        meta.height,
        args.scale,
        doc.seq()
    );
    Ok(())
}
