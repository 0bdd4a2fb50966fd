//! The cluster mode's store: rooms in PostgreSQL behind the same [`Backend`] interface as the
//! SQLite store, with each room *claimed* through its lease before it is loaded.
//!
//! All PostgreSQL work runs on a runtime of its own (one thread, `inkroom-pg`), so the pool's
//! connections never depend on an actix worker being free, and the blocking reads the rooms
//! make from the blocking pool simply wait for an answer from it.
//!
//! Writes go through one writer task (`store/write.rs`) in the order they were queued; a run
//! of one room's ops is one fenced append (group commit). An op is written only under the
//! room's lease, checked in the append's own transaction, so a `commit` is never sent for an
//! op another owner could contradict. Reads are `store/read.rs`.

mod history;
mod read;
mod write;

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;

use super::keeper::{KeeperConfig, KeeperState, LeaseKeeper};
use super::lease::Leases;
use super::oplog::{LogOp, OpLog};
use super::pg::{Pg, PgError, PgOptions};
use crate::meta::RoomMeta;
use crate::metrics::StoreMetrics;
use crate::store::{
    Backend, Claim, Done, EncodedTile, FactUpdate, HistoryRead, ImageDone, Lost, NewImage, NewOp,
    RoomFacts, StoreError, StoredRoom,
};
use write::Job;

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Corrupt(what) => StoreError::Corrupt(what),
            other => StoreError::Postgres(other.to_string()),
        }
    }
}

/// Connections of the leases' own pool.
const LEASE_POOL: usize = 4;

/// How a node runs its rooms in the cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The URL other nodes reach this node at (`http://host:port`); it is written into the
    /// leases this node holds, so that they can forward members to it.
    pub advertise: String,
    /// Lease length and renewal.
    pub keeper: KeeperConfig,
    /// The rooms' pool: its size and time bounds (lease calls are bounded shorter, see
    /// [`PgStore::open`]).
    pub pg: PgOptions,
}

/// What the handle and the writer task share about claimed rooms.
#[derive(Debug, Default)]
struct Claims {
    /// The claim (a number unique to this node's run) and lease keeper of every room this
    /// node owns.
    keepers: Mutex<HashMap<Uuid, (u64, LeaseKeeper)>>,
    /// The last claim number handed out.
    last: std::sync::atomic::AtomicU64,
    /// Rooms whose lease is being given up: a new claim of one waits until that is done, so
    /// that the release cannot expire the new claim's lease (same node, same epoch).
    releasing: Mutex<std::collections::HashSet<Uuid>>,
    released: std::sync::Condvar,
}

impl Claims {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (u64, LeaseKeeper)>> {
        self.keepers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The room's lease while this node may act as its owner.
    fn lease(&self, room: Uuid) -> Option<super::Lease> {
        self.lock().get(&room).and_then(|(_, k)| k.lease())
    }

    /// Waits (blocking, at most `patience`) until no release of `room` is in flight.
    fn await_released(&self, room: Uuid, patience: Duration) {
        let releasing = self
            .releasing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .released
            .wait_timeout_while(releasing, patience, |r| r.contains(&room));
    }

    /// Marks `room`'s release as done.
    fn released(&self, room: Uuid) {
        self.releasing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&room);
        self.released.notify_all();
    }
}

/// The PostgreSQL store of one node.
pub struct PgStore {
    /// Runs every PostgreSQL call.
    handle: tokio::runtime::Handle,
    /// Stops the runtime's thread (dropped on close).
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    /// The runtime's thread.
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    pg: Pg,
    leases: Leases,
    /// This node's name in leases: `<advertise>#<run id>`, unique per process run.
    node: String,
    keeper: KeeperConfig,
    claims: Arc<Claims>,
    /// Jobs for the writer task (`None` once closed).
    jobs: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    writable: Arc<AtomicBool>,
    metrics: StoreMetrics,
}

impl PgStore {
    /// Connects to `url`, brings the schema up to date and starts the writer. Blocking: call
    /// it outside any async runtime (at start-up).
    pub fn open(url: &str, options: ClusterOptions) -> Result<PgStore, StoreError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::Unusable(format!("cannot start the PostgreSQL runtime: {e}"))
            })?;
        let handle = rt.handle().clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("inkroom-pg".into())
            .spawn(move || {
                rt.block_on(async {
                    let _ = stop_rx.await;
                });
                // Give queued work a moment, then drop whatever is left.
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| {
                StoreError::Unusable(format!("cannot start the PostgreSQL thread: {e}"))
            })?;
        let url_for_leases = url.to_owned();
        let url = url.to_owned();
        let pg_options = options.pg;
        let pg = wait(&handle, async move { Pg::connect(&url, pg_options).await })
            .ok_or(StoreError::Closed)?
            .map_err(|e| StoreError::Unusable(format!("cannot use PostgreSQL: {e}")))?;
        let metrics = StoreMetrics::new()
            .map_err(|e| StoreError::Unusable(format!("cannot set up store metrics: {e}")))?;
        // Leases have a small pool of their own, whose calls are bounded shorter than a renewal
        // interval: a renewal never waits behind the rooms' reads and writes, and a stuck call
        // cannot make the keeper miss its deadline.
        let url = url_for_leases;
        let lease_options = PgOptions {
            max_size: LEASE_POOL,
            op_timeout: options
                .keeper
                .renew_every
                .min(options.pg.op_timeout)
                .max(Duration::from_millis(100)),
            ..options.pg
        };
        let lease_pg = wait(
            &handle,
            async move { Pg::connect(&url, lease_options).await },
        )
        .ok_or(StoreError::Closed)?
        .map_err(|e| StoreError::Unusable(format!("cannot use PostgreSQL: {e}")))?;
        let leases = Leases::new(lease_pg, options.keeper.margin);
        let claims = Arc::new(Claims::default());
        let writable = Arc::new(AtomicBool::new(true));
        let (tx, rx) = mpsc::unbounded_channel();
        handle.spawn(
            write::Writer {
                pg: pg.clone(),
                oplog: OpLog::new(pg.clone()),
                claims: Arc::clone(&claims),
                writable: Arc::clone(&writable),
                metrics: metrics.clone(),
                held: Default::default(),
            }
            .run(rx),
        );
        let node = format!(
            "{}#{}",
            options.advertise.trim_end_matches('/'),
            Uuid::new_v4()
        );
        tracing::info!(%node, "cluster store ready");
        Ok(PgStore {
            handle,
            stop: Mutex::new(Some(stop_tx)),
            thread: Mutex::new(Some(thread)),
            pg,
            leases,
            node,
            keeper: options.keeper,
            claims,
            jobs: Mutex::new(Some(tx)),
            writable,
            metrics,
        })
    }

    /// This node's name in the leases table.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Runs `work` on the PostgreSQL runtime and waits for it (blocking).
    fn block<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        wait(&self.handle, work).ok_or(StoreError::Closed)?
    }

    fn send(&self, job: Job) {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        let failed = match jobs.as_ref() {
            Some(tx) => tx.send(job).err().map(|e| e.0),
            None => Some(job),
        };
        if let Some(job) = failed {
            job.finish(Err(Arc::new(StoreError::Closed)));
        }
    }

    /// The base URL of the node holding `room`'s unexpired lease, unless it is `this` node.
    async fn holder(pg: Pg, room: Uuid, this: String) -> Result<Option<String>, StoreError> {
        let owner: Option<String> = pg
            .bounded(async {
                let client = pg.client().await?;
                let row = client
                    .query_opt(
                        "SELECT owner FROM leases WHERE room = $1 AND expires_at > now()",
                        &[&room],
                    )
                    .await
                    .map_err(PgError::from)?;
                Ok::<_, PgError>(row.map(|r| r.try_get::<_, String>(0)).transpose()?)
            })
            .await?;
        Ok(owner
            .filter(|o| *o != this)
            .map(|o| o.split('#').next().unwrap_or_default().to_owned()))
    }
}

/// Runs `work` on `handle`'s runtime and waits for its output from this (non-async) thread;
/// `None` if the runtime stopped first.
fn wait<T, F>(handle: &tokio::runtime::Handle, work: F) -> Option<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(work.await);
    });
    rx.recv().ok()
}

impl Backend for PgStore {
    fn metrics(&self) -> &StoreMetrics {
        &self.metrics
    }

    fn writable(&self) -> bool {
        self.writable.load(Ordering::Acquire)
            && self
                .jobs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_some()
    }

    fn path(&self) -> Option<&Path> {
        None
    }

    fn create_room(&self, meta: RoomMeta, done: Done) {
        self.send(Job::CreateRoom(meta, done));
    }

    fn append(&self, room: Uuid, mut op: NewOp<'_>, done: Done) {
        // A restore's tiles are encoded by the writer, off the room's thread.
        let tiles = std::mem::take(&mut op.tiles);
        let encoded = LogOp::encode(&op);
        let op = if tiles.is_empty() {
            write::ToLog::Ready(encoded)
        } else {
            write::ToLog::Tiles { op: encoded, tiles }
        };
        self.send(Job::Append { room, op, done });
    }

    fn save_keyframe(&self, room: Uuid, seq: u64, tiles: Vec<EncodedTile>, done: Done) {
        self.send(Job::Keyframe {
            room,
            seq,
            tiles,
            done,
        });
    }

    fn set_base(&self, room: Uuid, seq: u64, done: Done) {
        self.send(Job::SetBase { room, seq, done });
    }

    fn probe(&self, room: Uuid, after: u64, done: Done) {
        self.send(Job::Probe { room, after, done });
    }

    fn save_image(&self, image: NewImage, done: ImageDone) {
        self.send(Job::SaveImage(image, done));
    }

    fn image(&self, room: Uuid, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let pg = self.pg.clone();
        let id = id.to_owned();
        self.block(async move { read::image(&pg, room, &id).await })
    }

    fn delete_room(&self, id: Uuid, done: Done) {
        self.send(Job::DeleteRoom(id, done));
    }

    fn flush(&self) -> Result<(), StoreError> {
        crate::store::wait_done(|done| self.send(Job::Flush(done)))
    }

    fn close(&self) {
        let Some(jobs) = self
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        // Everything queued is written (the writer ends when its queue closes and is empty).
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let _ = jobs.send(Job::Flush(Box::new(move |_| {
            let _ = tx.send(());
        })));
        drop(jobs);
        let _ = rx.recv_timeout(Duration::from_secs(10));
        // Give the rooms up, so that other nodes take them at once rather than at expiry.
        self.release_all();
        if let Some(stop) = self
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = stop.send(());
        }
        if let Some(thread) = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = thread.join();
        }
    }

    fn room_meta(&self, id: Uuid) -> Result<Option<RoomMeta>, StoreError> {
        let pg = self.pg.clone();
        self.block(async move { read::room_meta(&pg, id).await })
    }

    fn load_room_upto(&self, id: Uuid, upto: u64) -> Result<Option<StoredRoom>, StoreError> {
        let pg = self.pg.clone();
        self.block(async move { read::load_room(&pg, id, upto).await })
    }

    fn client_ops(&self, room: Uuid, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let pg = self.pg.clone();
        self.block(async move { read::client_ops(&pg, room, limit).await })
    }

    fn history_reader(&self) -> Result<Box<dyn HistoryRead + Send>, StoreError> {
        Ok(Box::new(history::PgHistory {
            pg: self.pg.clone(),
            handle: self.handle.clone(),
        }))
    }

    fn room_count(&self) -> Result<u64, StoreError> {
        let pg = self.pg.clone();
        self.block(async move { read::room_count(&pg).await })
    }

    fn owner_locked(&self, id: Uuid) -> Result<bool, StoreError> {
        let pg = self.pg.clone();
        self.block(async move { read::owner_locked(&pg, id).await })
    }

    fn update_facts(&self, update: FactUpdate, done: Done) {
        self.send(Job::Facts(update, done));
    }

    fn room_facts(&self, id: Uuid) -> Result<Option<RoomFacts>, StoreError> {
        let pg = self.pg.clone();
        self.block(async move { Ok(read::facts(&pg, Some(id), None, 1).await?.pop()) })
    }

    fn list_room_facts(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<RoomFacts>, StoreError> {
        let pg = self.pg.clone();
        self.block(async move { read::facts(&pg, None, after, limit).await })
    }

    fn expired_rooms(
        &self,
        now: i64,
        default: Option<Duration>,
        limit: usize,
    ) -> Result<Vec<Uuid>, StoreError> {
        let pg = self.pg.clone();
        self.block(async move { read::expired_rooms(&pg, now, default, limit).await })
    }

    fn shortest_retention(
        &self,
        default: Option<Duration>,
    ) -> Result<Option<Duration>, StoreError> {
        let pg = self.pg.clone();
        self.block(async move { read::shortest_retention(&pg, default).await })
    }

    fn claim(&self, room: Uuid) -> Result<Claim, StoreError> {
        // A run of the room that just ended here may still be giving its lease up.
        self.claims.await_released(room, self.keeper.ttl);
        let pg = self.pg.clone();
        let leases = self.leases.clone();
        let node = self.node.clone();
        let keeper = self.keeper;
        let claimed = self.block(async move {
            // A room that does not exist takes no lease (its load then finds nothing).
            if read::room_meta(&pg, room).await?.is_none() {
                return Ok(None);
            }
            // The lease may run out between a refused acquire and the read of who holds it:
            // then try again (a few times; it is changing hands, not stuck).
            for _ in 0..3 {
                if let Some(keeper) =
                    LeaseKeeper::start(leases.clone(), room, &node, keeper).await?
                {
                    return Ok(Some(Ok(keeper)));
                }
                if let Some(holder) = PgStore::holder(pg.clone(), room, node.clone()).await? {
                    return Ok(Some(Err(holder)));
                }
            }
            Err(StoreError::Postgres(format!(
                "room {room} is changing hands; try again"
            )))
        })?;
        match claimed {
            None => Ok(Claim::Owned { claim: 0, epoch: 0 }),
            Some(Ok(keeper)) => {
                // Writes queued by the room's earlier run on this node go first, under its
                // own lease (or none): none of them may run under this claim. The room is
                // loaded after them, so it sees every one that landed.
                let _ = crate::store::wait_done(|done| self.send(Job::Flush(done)));
                let claim = self
                    .claims
                    .last
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    + 1;
                let epoch = u64::try_from(keeper.epoch()).unwrap_or(0);
                tracing::info!(%room, node = %self.node, claim, state = ?keeper.state(), "room claimed");
                // A keeper of an earlier claim is dropped (its lease was lost or is given up),
                // and the failed writes of an earlier run no longer hold this one.
                self.claims.lock().insert(room, (claim, keeper));
                self.send(Job::Unhold(room));
                Ok(Claim::Owned { claim, epoch })
            }
            Some(Err(node)) => Ok(Claim::Elsewhere { node }),
        }
    }

    fn lost(&self, room: Uuid, claim: u64) -> Option<Lost> {
        let current = self
            .claims
            .lock()
            .get(&room)
            .filter(|(c, _)| *c == claim)
            .map(|(_, k)| k.subscribe());
        Some(Box::pin(async move {
            // A claim already replaced is lost.
            if let Some(mut rx) = current {
                let _ = rx
                    .wait_for(|s| !matches!(s, KeeperState::Held { .. }))
                    .await;
            }
        }))
    }

    fn release_all(&self) {
        let keepers: Vec<LeaseKeeper> = self.claims.lock().drain().map(|(_, (_, k))| k).collect();
        let _ = wait(&self.handle, async move {
            for keeper in keepers {
                let _ = keeper.release().await;
            }
        });
    }

    fn owner_of(&self, room: Uuid) -> Result<Option<String>, StoreError> {
        let pg = self.pg.clone();
        let node = self.node.clone();
        self.block(async move { PgStore::holder(pg, room, node).await })
    }

    fn release(&self, room: Uuid, claim: u64) {
        let keeper = {
            let mut keepers = self.claims.lock();
            // Only this claim's: a newer claim of the room is not this run's to give up.
            if keepers.get(&room).is_none_or(|(c, _)| *c != claim) {
                return;
            }
            self.claims
                .releasing
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(room);
            keepers.remove(&room).map(|(_, k)| k)
        };
        let Some(keeper) = keeper else {
            return;
        };
        let claims = Arc::clone(&self.claims);
        self.handle.spawn(async move {
            if let Err(e) = keeper.release().await {
                tracing::warn!(%room, "could not release the room's lease (it will expire): {e}");
            }
            claims.released(room);
        });
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.close();
    }
}
