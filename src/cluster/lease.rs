//! Room leases: which node owns a room, until when, and at which epoch.
//!
//! A lease is a row of `leases (room, owner, epoch, expires_at)`, taken and renewed with
//! conditional statements on the database's clock (`now()`), never on a node's, so nodes
//! whose clocks disagree still agree on who owns a room. Every takeover (a new owner, or a
//! lease that had expired) increments `epoch`; the epoch is the fencing token that every op
//! append checks in its own transaction ([`OpLog::append`](super::oplog::OpLog::append)), so a
//! former owner that stalled past its expiry can never write again.
//!
//! A [`Lease`] also carries a local deadline on the monotonic clock: the moment it was
//! *requested* plus its ttl minus [`Leases`]' safety margin. The database computed its expiry
//! after that moment, so the local deadline always comes first (by at least the margin, as long
//! as the two clocks run at about the same rate). An owner that has not renewed by then
//! stops acknowledging at once ([`Lease::valid`]), before the database could give the room to
//! another node.
//!
//! Node names must be unique per process run (say host, pid and a random suffix): a lease
//! taken again by the same name while unexpired keeps its epoch, so a restarted node that
//! reused its name would share the epoch of its former self.

use std::time::{Duration, Instant, SystemTime};

use uuid::Uuid;

use super::pg::{millis, Pg, PgError};

/// Takes a room if nobody holds it, its lease expired, or it is already ours. A takeover
/// increments the epoch; taking it again while ours and unexpired keeps it.
const ACQUIRE: &str = "INSERT INTO leases AS l (room, owner, epoch, expires_at)
     VALUES ($1, $2, 1, now() + $3::bigint * interval '1 millisecond')
     ON CONFLICT (room) DO UPDATE
        SET owner = EXCLUDED.owner,
            epoch = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > now()
                         THEN l.epoch ELSE l.epoch + 1 END,
            expires_at = EXCLUDED.expires_at
        WHERE l.owner = EXCLUDED.owner OR l.expires_at <= now()
     RETURNING epoch, expires_at";

/// Extends a lease while it is still ours, at the same epoch, and unexpired.
const RENEW: &str = "UPDATE leases SET expires_at = now() + $4::bigint * interval '1 millisecond'
     WHERE room = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()
     RETURNING expires_at";

/// Gives a lease up: it expires now. The row stays, so the next owner's epoch is still higher.
const RELEASE: &str = "UPDATE leases SET expires_at = now()
     WHERE room = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()";

/// One node's hold on one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The room.
    room: Uuid,
    /// The node that holds it.
    owner: String,
    /// The fencing token: higher for every takeover of the room.
    epoch: i64,
    /// The ttl it was taken or renewed with (renewals use it again).
    ttl: Duration,
    /// Expiry on the database's clock.
    expires_at: SystemTime,
    /// When this node must stop acting as owner unless renewed (monotonic, local).
    deadline: Instant,
}

impl Lease {
    /// The room.
    pub fn room(&self) -> Uuid {
        self.room
    }

    /// The node that holds it.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The fencing token: it grows with every takeover of the room.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// The ttl it was taken with.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// When it expires, on the database's clock.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// The local deadline: request time + ttl - margin, on this node's monotonic clock.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether this node may still act as the room's owner at `now` (acknowledge ops,
    /// broadcast as the owner): false from the local deadline on.
    pub fn valid(&self, now: Instant) -> bool {
        now < self.deadline
    }
}

/// The local deadline of a lease requested at `requested`: `requested + ttl - margin`, or
/// `requested` itself (already past) when the margin eats the ttl.
fn local_deadline(requested: Instant, ttl: Duration, margin: Duration) -> Instant {
    requested
        .checked_add(ttl.saturating_sub(margin))
        .unwrap_or(requested)
}

/// Leases of rooms in PostgreSQL.
#[derive(Debug, Clone)]
pub struct Leases {
    /// The database.
    pg: Pg,
    /// Taken off every lease's ttl for its local deadline: covers clock-rate drift between
    /// this node and the database and the time between checking [`Lease::valid`] and acting.
    margin: Duration,
}

impl Leases {
    /// Leases over `pg`, with `margin` taken off each lease's local deadline.
    pub fn new(pg: Pg, margin: Duration) -> Leases {
        Leases { pg, margin }
    }

    /// The safety margin.
    pub fn margin(&self) -> Duration {
        self.margin
    }

    /// The same leases (same pool) with another safety margin.
    pub fn with_margin(&self, margin: Duration) -> Leases {
        Leases {
            pg: self.pg.clone(),
            margin,
        }
    }

    /// Takes `room` for `node` for `ttl`, if nobody else holds it: `None` while another
    /// node's lease is unexpired. A takeover (from another node, or of an expired lease)
    /// comes with the next epoch.
    pub async fn acquire(
        &self,
        room: Uuid,
        node: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, PgError> {
        let requested = Instant::now();
        let row = self
            .query_opt(ACQUIRE, &[&room, &node, &millis(ttl)])
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(Lease {
            room,
            owner: node.to_owned(),
            epoch: row.try_get(0)?,
            ttl,
            expires_at: row.try_get(1)?,
            deadline: local_deadline(requested, ttl, self.margin),
        }))
    }

    /// Extends `lease` by its ttl from now, if it is still ours at the same epoch and has not
    /// expired on the database's clock: `None` once it is lost (stop acting as owner; the room
    /// may be taken again with [`Leases::acquire`], at a new epoch).
    pub async fn renew(&self, lease: &Lease) -> Result<Option<Lease>, PgError> {
        let requested = Instant::now();
        let row = self
            .query_opt(
                RENEW,
                &[&lease.room, &lease.owner, &lease.epoch, &millis(lease.ttl)],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(Lease {
            expires_at: row.try_get(0)?,
            deadline: local_deadline(requested, lease.ttl, self.margin),
            ..lease.clone()
        }))
    }

    /// Runs one statement on a pooled connection, bounded in time; its row, if any.
    async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, PgError> {
        self.pg
            .bounded(async {
                let client = self.pg.client().await?;
                Ok::<_, PgError>(client.query_opt(sql, params).await?)
            })
            .await
    }

    /// Gives `lease` up so another node may take the room at once (at the next epoch). False
    /// if it was no longer held.
    pub async fn release(&self, lease: &Lease) -> Result<bool, PgError> {
        let n = self
            .pg
            .bounded(async {
                let client = self.pg.client().await?;
                Ok::<_, PgError>(
                    client
                        .execute(RELEASE, &[&lease.room, &lease.owner, &lease.epoch])
                        .await?,
                )
            })
            .await?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::local_deadline;

    /// The local deadline is the request time plus the ttl less the margin, and a margin
    /// as long as the ttl leaves a lease that is never valid.
    #[test]
    fn the_local_deadline_comes_a_margin_before_the_ttl() {
        let t = Instant::now();
        let ttl = Duration::from_millis(500);
        assert_eq!(
            local_deadline(t, ttl, Duration::from_millis(100)),
            t + Duration::from_millis(400)
        );
        assert_eq!(local_deadline(t, ttl, ttl * 2), t);
    }
}
