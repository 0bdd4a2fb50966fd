//! The PostgreSQL connection pool of the cluster mode: [`Pg`], a bounded pool of connections
//! from a `postgres://` URL whose every use is bounded in time, and [`PgError`].
//!
//! Every call that goes to the database is wrapped in [`Pg::bounded`], so a database that stops
//! answering (stopped, partitioned, paused) turns into an error after
//! [`PgOptions::op_timeout`], never into a task that waits forever. The server side is bounded
//! too: each connection sets `statement_timeout`, `lock_timeout` and
//! `idle_in_transaction_session_timeout`, so a node that stalls in the middle of a transaction
//! (SIGSTOP, a long GC-like pause, a lost network) cannot hold a room's lease row locked and
//! keep another node from taking the room over.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::schema;

/// A failure to reach or use PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The URL is not a usable `postgres://` URL.
    #[error("invalid PostgreSQL URL: {0}")]
    Url(String),
    /// The pool could not be built.
    #[error("cannot build the PostgreSQL pool: {0}")]
    Build(String),
    /// No connection could be had from the pool (database down, pool exhausted).
    #[error("no PostgreSQL connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// PostgreSQL reported an error, or the connection broke.
    #[error("PostgreSQL error: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// The database did not answer in time; the outcome of a write is unknown.
    #[error("PostgreSQL did not answer within {0:?}")]
    Timeout(Duration),
    /// The database's schema cannot be used by this binary.
    #[error("the PostgreSQL schema is not usable: {0}")]
    Schema(String),
    /// A stored row makes no sense.
    #[error("corrupt PostgreSQL data: {0}")]
    Corrupt(String),
}

/// How to size and bound the pool. The defaults suit one node of a small cluster.
#[derive(Debug, Clone, Copy)]
pub struct PgOptions {
    /// Most connections the pool opens. Default 16.
    pub max_size: usize,
    /// Longest wait for a TCP connection and its startup. Default 5 s.
    pub connect_timeout: Duration,
    /// Longest any one call (taking a connection included) may take before it fails with
    /// [`PgError::Timeout`]; also the server-side statement, lock and idle-in-transaction
    /// timeouts. Keep it well under a lease's ttl. Default 5 s.
    pub op_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_size: 16,
            connect_timeout: Duration::from_secs(5),
            op_timeout: Duration::from_secs(5),
        }
    }
}

/// A bounded pool of PostgreSQL connections; cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct Pg {
    /// The connections.
    pool: Pool,
    /// Bound on every call ([`PgOptions::op_timeout`]).
    op_timeout: Duration,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg")
            .field("status", &self.pool.status())
            .field("op_timeout", &self.op_timeout)
            .finish()
    }
}

impl Pg {
    /// Connects a pool to `url` (`postgres://user@host:port/db`, without TLS) and brings the
    /// schema up to date ([`schema::VERSION`]). Fails if the database cannot be reached within
    /// the timeouts or its schema is newer than this binary.
    pub async fn connect(url: &str, options: PgOptions) -> Result<Pg, PgError> {
        let mut config =
            tokio_postgres::Config::from_str(url).map_err(|e| PgError::Url(e.to_string()))?;
        let ms = options.op_timeout.as_millis().max(1);
        config
            .connect_timeout(options.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .application_name("inkroom")
            .options(format!(
                "-c statement_timeout={ms} -c lock_timeout={ms} \
                 -c idle_in_transaction_session_timeout={ms}"
            ));
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.op_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.op_timeout))
            .build()
            .map_err(|e| PgError::Build(e.to_string()))?;
        let pg = Pg {
            pool,
            op_timeout: options.op_timeout,
        };
        pg.bounded(async {
            let mut client = pg.client().await?;
            schema::migrate(&mut client).await
        })
        .await?;
        Ok(pg)
    }

    /// The pool, for the store's own queries (and tests).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// A connection from the pool (bounded by the pool's wait and create timeouts).
    pub async fn client(&self) -> Result<deadpool_postgres::Object, PgError> {
        Ok(self.pool.get().await?)
    }

    /// Runs `work` (one use of the database) for at most [`PgOptions::op_timeout`]. On a
    /// timeout the work is dropped: a transaction it had open is rolled back by the server (at
    /// the latest by `idle_in_transaction_session_timeout`), but a commit it had sent may
    /// still have happened, so a write that timed out has an unknown outcome.
    pub async fn bounded<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<PgError>,
    {
        tokio::time::timeout(self.op_timeout, work)
            .await
            .map_err(|_| E::from(PgError::Timeout(self.op_timeout)))?
    }
}

/// Milliseconds of `d` as a PostgreSQL `bigint` (saturating).
pub(super) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A seq as a PostgreSQL `bigint`.
pub(super) fn seq_to_sql(seq: u64) -> Result<i64, PgError> {
    i64::try_from(seq).map_err(|_| PgError::Corrupt(format!("seq {seq} does not fit a bigint")))
}

/// A stored `bigint` seq.
pub(super) fn seq_from_sql(seq: i64) -> Result<u64, PgError> {
    u64::try_from(seq).map_err(|_| PgError::Corrupt(format!("negative seq {seq}")))
}
