//! A PostgreSQL of its own with the cluster's pool, leases and op log on it, for the lease and
//! keeper tests.

use std::time::Duration;

use inkroom::cluster::{Leases, OpLog, Pg, PgOptions};
use uuid::Uuid;

use super::Postgres;

/// A database and the cluster's handles on it.
pub struct Cluster {
    /// The server (stop and restart it to simulate an outage).
    pub pg: Postgres,
    /// The pool.
    pub db: Pg,
    /// Leases, with the test's safety margin.
    pub leases: Leases,
    /// The fenced op log.
    pub log: OpLog,
}

impl Cluster {
    /// Starts a server and connects (migrating it).
    pub async fn start(options: PgOptions, margin: Duration) -> Cluster {
        let pg = Postgres::start();
        let db = Pg::connect(&pg.url, options).await.expect("connects");
        Cluster {
            leases: Leases::new(db.clone(), margin),
            log: OpLog::new(db.clone()),
            db,
            pg,
        }
    }

    /// A new room row.
    pub async fn room(&self) -> Uuid {
        let id = Uuid::new_v4();
        self.db
            .client()
            .await
            .expect("client")
            .execute(
                "INSERT INTO rooms (id, name, width, height, background, edit_key) \
                 VALUES ($1, 'Test', 300, 300, '#ffffff', 'key')",
                &[&id],
            )
            .await
            .expect("room");
        id
    }
}
