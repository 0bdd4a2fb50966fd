//! The `inkroom` binary: serves boards (the default), prints the effective configuration,
//! exports a stored board as PNG or its history as a timelapse, backs up and restores the
//! store.

use std::net::TcpListener;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use inkroom::config::{Config, Flags};

/// inkroom: draw together on one canvas in the browser.
///
/// Every setting below can also be given as an INKROOM_* environment variable or as a key of a
/// TOML file named with --config; flags win over variables, variables over the file, the file
/// over the defaults. `inkroom config` prints the result.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Flags,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve boards over HTTP and WebSocket (the default).
    Serve(Flags),
    /// Print the effective configuration as TOML (secrets masked), from the same flags,
    /// INKROOM_* variables and --config file as serving.
    Config(Flags),
    /// Write a stored board as PNG, with the server stopped.
    Export(ExportArgs),
    /// Write a stored board's history as an animated PNG (APNG), with the server stopped.
    Timelapse(TimelapseArgs),
    /// Copy the store to a new file, safely while the server runs.
    Backup(BackupArgs),
    /// Replace the store with a backup, with the server stopped.
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
struct BackupArgs {
    /// Directory of the room store.
    #[arg(long, env = "INKROOM_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The backup file to write (must not exist).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// Directory of the room store.
    #[arg(long, env = "INKROOM_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The backup file to restore.
    #[arg(long)]
    from: PathBuf,
}

/// Which stored board to write where (shared by `export` and `timelapse`).
#[derive(Debug, Args)]
struct BoardOut {
    /// Directory of the room store.
    #[arg(long, env = "INKROOM_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The room's id.
    #[arg(long)]
    room: uuid::Uuid,
    /// Where to write the PNG.
    #[arg(long)]
    out: PathBuf,
    /// Leave out the background color.
    #[arg(long)]
    transparent: bool,
}

#[derive(Debug, Args)]
struct ExportArgs {
    #[command(flatten)]
    board: BoardOut,
    /// Scale factor, 0.1 to 4.
    #[arg(long, default_value_t = 1.0)]
    scale: f32,
}

#[derive(Debug, Args)]
struct TimelapseArgs {
    #[command(flatten)]
    board: BoardOut,
    /// Frames, 1 to 1000 (fewer when the history has fewer steps).
    #[arg(long, default_value_t = inkroom::history::timelapse::DEFAULT_FRAMES)]
    frames: u32,
    /// How long it plays, in seconds (default: 12 frames a second).
    #[arg(long)]
    duration: Option<f32>,
    /// Scale factor of each frame, 0.1 to 4.
    #[arg(long, default_value_t = inkroom::history::timelapse::DEFAULT_SCALE)]
    scale: f32,
    /// First step (seq) shown (default: where the kept history starts).
    #[arg(long)]
    from: Option<u64>,
    /// Last step (seq) shown (default: the latest).
    #[arg(long)]
    to: Option<u64>,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Export(args)) => {
            start_logging(false);
            export(args)
        }
        Some(Command::Timelapse(args)) => {
            start_logging(false);
            timelapse(args)
        }
        Some(Command::Backup(args)) => backup(args),
        Some(Command::Restore(args)) => restore(args),
        Some(Command::Config(flags)) => load(&flags).map(|config| {
            print!("{}", inkroom::config::render::to_toml(&config));
        }),
        Some(Command::Serve(flags)) => load(&flags).and_then(serve),
        None => load(&cli.serve).and_then(serve),
    };
    if let Err(e) = result {
        eprintln!("inkroom: {e}");
        std::process::exit(1);
    }
}

/// The configuration from the flags, the process environment and the TOML file.
fn load(flags: &Flags) -> Result<Config, String> {
    inkroom::config::load(flags, &|name| std::env::var_os(name)).map_err(|e| e.to_string())
}

/// Logs to stderr, filtered by `INKROOM_LOG` (default `info`): readable lines, or JSON lines
/// (one object per event, its fields at the top level).
fn start_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("INKROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
}

fn serve(config: Config) -> Result<(), String> {
    start_logging(config.log_json);
    tracing::debug!(?config, "configuration");
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

impl BoardOut {
    /// The store, opened with the server stopped.
    fn store(&self) -> Result<inkroom::store::Store, String> {
        inkroom::store::Store::open(&self.data_dir, true).map_err(|e| e.to_string())
    }

    /// The error for a room the store does not have.
    fn missing(&self) -> String {
        format!("no room {} in {}", self.room, self.data_dir.display())
    }

    /// The error for an output file that cannot be written.
    fn unwritable(&self, e: std::io::Error) -> String {
        format!("cannot write {}: {e}", self.out.display())
    }
}

fn timelapse(args: TimelapseArgs) -> Result<(), String> {
    use inkroom::history::timelapse::{render, Timelapse};
    let config = Config::default();
    let board = &args.board;
    let store = board.store()?;
    let meta = store
        .room_meta(board.room)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| board.missing())?;
    let request = Timelapse {
        from: args.from,
        to: args.to,
        frames: args.frames,
        duration: args.duration,
        scale: args.scale,
        background: (!board.transparent).then_some(meta.background),
    };
    request.check(&config)?;
    let conn = store.history_reader().map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let plan =
        inkroom::history::timelapse::plan(&*conn, &meta, &request).map_err(|e| e.to_string())?;
    let file = std::fs::File::create(&board.out).map_err(|e| board.unwritable(e))?;
    let out = render(
        &*conn,
        &meta,
        &config,
        &request,
        &plan,
        std::io::BufWriter::new(file),
    )
    .map_err(|e| e.to_string())?;
    let size = out
        .into_inner()
        .map_err(|e| board.unwritable(e.into_error()))?
        .metadata()
        .map(|m| m.len())
        .unwrap_or(0);
    eprintln!(
        "inkroom: wrote {} ({} frames of {}x{}, seqs {} to {}, {} bytes, {:.1} s)",
        board.out.display(),
        plan.frames(),
        plan.width,
        plan.height,
        plan.from(),
        plan.to(),
        size,
        started.elapsed().as_secs_f32()
    );
    Ok(())
}

fn export(args: ExportArgs) -> Result<(), String> {
    if !(0.1..=4.0).contains(&args.scale) {
        return Err("--scale must be between 0.1 and 4".into());
    }
    let config = Config::default();
    let board = &args.board;
    let stored = board
        .store()?
        .load_room(board.room)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| board.missing())?;
    let (meta, doc) = inkroom::room::rebuild(stored, &config).map_err(|e| e.to_string())?;
    let background = (!board.transparent).then_some(meta.background);
    let png = doc
        .canvas()
        .snapshot()
        .export_png(background, args.scale)
        .ok_or("the export is too large for memory")?;
    std::fs::write(&board.out, png).map_err(|e| board.unwritable(e))?;
    eprintln!(
        "inkroom: wrote {} ({}x{} at scale {}, seq {})",
        board.out.display(),
        meta.width,
        meta.height,
        args.scale,
        doc.seq()
    );
    Ok(())
}

fn backup(args: BackupArgs) -> Result<(), String> {
    let checked =
        inkroom::store::backup::backup(&args.data_dir, &args.out).map_err(|e| e.to_string())?;
    eprintln!(
        "inkroom: backed up {} rooms (schema {}) to {}; integrity check ok",
        checked.rooms,
        checked.schema,
        args.out.display()
    );
    Ok(())
}

fn restore(args: RestoreArgs) -> Result<(), String> {
    let restored =
        inkroom::store::backup::restore(&args.data_dir, &args.from).map_err(|e| e.to_string())?;
    if let Some(aside) = &restored.moved_aside {
        eprintln!("inkroom: the previous store is kept as {}", aside.display());
    }
    eprintln!(
        "inkroom: restored {} rooms (schema {}) from {} into {}",
        restored.checked.rooms,
        restored.checked.schema,
        args.from.display(),
        args.data_dir.display()
    );
    Ok(())
}
