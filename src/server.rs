//! Builds the actix-web application and runs it on a listener. `main` and the tests share [`run`].

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpServer};

use crate::cluster::bus::BusConfig;
use crate::cluster::fanout::Fanout;
use crate::cluster::{ClusterOptions, KeeperConfig, PgOptions, PgStore};
use crate::config::{Config, TlsFiles};
use crate::http::{admin, assets, health, history, images, metrics, rooms};
use crate::metrics::Metrics;
use crate::room::Registry;
use crate::store::{Store, StoreOptions};

/// Content-Security-Policy for every response: scripts, styles and sockets from this origin only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
frame-ancestors 'none'; form-action 'self'";

/// Reads a certificate chain and key (PEM) into a rustls server config, with a message naming
/// the file on any problem.
pub fn tls_config(files: &TlsFiles) -> std::io::Result<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        std::io::Error::other(format!("TLS {what} {}: {e}", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad("certificate", &files.cert, &e))?;
    if certs.is_empty() {
        return Err(bad(
            "certificate",
            &files.cert,
            &"no certificate in the file",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| bad("key", &files.key, &e))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("setup for", &files.cert, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("certificate and key", &files.cert, &e))
}

/// Opens the store in `config.data_dir` and starts serving on `listener`. The returned [`Server`]
/// runs when awaited (or spawned); its handle stops it. Installs no signal handlers when `signals`
/// is false (tests).
pub fn run(listener: TcpListener, config: Config, signals: bool) -> std::io::Result<Server> {
    let options = StoreOptions {
        durable: config.durable,
        max_bytes: config.max_store_bytes,
    };
    let store = match &config.store {
        None => Store::open_with(&config.data_dir, options),
        Some(url) => {
            let options = cluster_options(&config, &listener)?;
            PgStore::open(url, options).map(|s| Store::over(Box::new(s)))
        }
    }
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    run_with_store(listener, config, Arc::new(store), signals)
}

/// How this node joins the cluster: its advertised URL (`advertise`, else `http://` and the
/// address it listens on), lease timing, and the pool's defaults (the store bounds lease calls
/// by the renewal interval on a pool of their own).
fn cluster_options(config: &Config, listener: &TcpListener) -> std::io::Result<ClusterOptions> {
    let advertise = match &config.advertise {
        Some(url) => url.clone(),
        None => {
            let addr = listener.local_addr()?;
            if addr.ip().is_unspecified() {
                return Err(std::io::Error::other(format!(
                    "listening on {addr}, other nodes cannot tell where to reach this one: \
                     set advertise (--advertise http://HOST:PORT or INKROOM_ADVERTISE)"
                )));
            }
            format!("http://{addr}")
        }
    };
    let keeper = KeeperConfig::new(config.lease_ttl, config.lease_margin);
    Ok(ClusterOptions {
        advertise,
        keeper,
        pg: PgOptions::default(),
    })
}

/// Like [`run`], over a store that is already open.
pub fn run_with_store(
    listener: TcpListener,
    config: Config,
    store: Arc<Store>,
    signals: bool,
) -> std::io::Result<Server> {
    let tls = config.tls.as_ref().map(tls_config).transpose()?;
    let config = Arc::new(config);
    // One registry of metrics per server: servers sharing a process never mix their counts.
    let metrics = Metrics::new(store.metrics()).map_err(std::io::Error::other)?;
    // Cluster mode with a bus: rooms' live traffic reaches other nodes over Redis.
    let fanout = match &config.bus {
        None => None,
        Some(url) => Some(
            Fanout::start(
                url,
                BusConfig::default(),
                config.outbox_frames,
                metrics.bus.clone(),
            )
            .map_err(std::io::Error::other)?,
        ),
    };
    let registry = web::Data::new(
        Registry::new(Arc::clone(&config), store, Arc::new(metrics)).with_fanout(fanout),
    );
    let body_limit = config.max_http_body_bytes;
    let upload_slots = web::Data::new(images::UploadSlots::new(config.max_concurrent_uploads));
    let shutdown_registry = registry.clone();
    actix_web::rt::spawn(crate::room::sweeper::run(registry.clone().into_inner()));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(registry.clone())
            .app_data(upload_slots.clone())
            .app_data(web::PayloadConfig::new(body_limit))
            .wrap(
                DefaultHeaders::new()
                    .add(("Content-Security-Policy", CSP))
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Referrer-Policy", "no-referrer")),
            )
            .route("/", web::get().to(assets::index))
            .route("/r/{id}", web::get().to(assets::room_page))
            .route("/static/{path:.*}", web::get().to(assets::frontend_file))
            .route("/favicon.svg", web::get().to(assets::favicon))
            .route("/fonts/{name}", web::get().to(assets::font))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/metrics", web::get().to(metrics::metrics))
            .route("/api/stats", web::get().to(assets::stats))
            .service(
                web::scope("/api/rooms")
                    .route("", web::post().to(rooms::create))
                    .route("/{id}", web::get().to(rooms::info))
                    .route("/{id}", web::delete().to(rooms::delete))
                    .route("/{id}/canvas.png", web::get().to(rooms::canvas_png))
                    .route("/{id}/history", web::get().to(history::info))
                    .route("/{id}/timelapse.png", web::get().to(history::timelapse_png))
                    .route(
                        "/{id}/edit_key",
                        web::post().to(crate::http::moderation::edit_key),
                    )
                    .route("/{id}/images", web::post().to(images::upload))
                    .route("/{id}/ws", web::get().to(rooms::websocket)),
            )
            .configure(admin::routes)
    })
    .tcp_nodelay(true)
    .shutdown_timeout(5)
    .disable_signals();
    let server = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls)?,
        None => server.listen(listener)?,
    }
    .run();
    if signals {
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down: closing sockets, flushing the store");
            let stopping = handle.stop(true);
            shutdown_registry.shutdown().await;
            stopping.await;
        });
    }
    Ok(server)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::error!("cannot listen for SIGTERM: {e}");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
