//! Bounds on history work: renders of an earlier canvas and timelapses each take a slot, and a
//! request that finds none free is refused (`429 busy`) rather than queued, so history
//! requests can never pile up on the blocking pool and starve drawing.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What a history job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// The canvas at one seq (`canvas.png?seq=`, a restore).
    Render,
    /// A timelapse.
    Timelapse,
}

/// The slots for history jobs: [`Config::history_renders`](crate::config::Config::history_renders)
/// renders and [`Config::timelapse_jobs`](crate::config::Config::timelapse_jobs) timelapses at
/// once.
#[derive(Debug, Clone)]
pub struct HistoryJobs {
    renders: Arc<Semaphore>,
    timelapses: Arc<Semaphore>,
}

impl HistoryJobs {
    /// Slots for `renders` renders and `timelapses` timelapses at once.
    pub fn new(renders: usize, timelapses: usize) -> HistoryJobs {
        HistoryJobs {
            renders: Arc::new(Semaphore::new(renders.max(1))),
            timelapses: Arc::new(Semaphore::new(timelapses.max(1))),
        }
    }

    fn slots(&self, kind: JobKind) -> &Arc<Semaphore> {
        match kind {
            JobKind::Render => &self.renders,
            JobKind::Timelapse => &self.timelapses,
        }
    }

    /// A slot for a job, if one is free now; hold it while the job runs.
    pub fn try_start(&self, kind: JobKind) -> Option<OwnedSemaphorePermit> {
        Arc::clone(self.slots(kind)).try_acquire_owned().ok()
    }

    /// A slot for a job, waiting for one (for a restore, which a member asked for and which
    /// must not fail only because someone else is scrubbing).
    pub async fn start(&self, kind: JobKind) -> Option<OwnedSemaphorePermit> {
        Arc::clone(self.slots(kind)).acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A second job of a kind finds no slot while the first holds it, and gets one after; the
    /// kinds do not share slots.
    #[tokio::test]
    async fn slots_bound_each_kind() {
        let jobs = HistoryJobs::new(1, 1);
        let lapse = jobs.try_start(JobKind::Timelapse).expect("a free slot");
        assert!(jobs.try_start(JobKind::Timelapse).is_none(), "busy");
        let render = jobs
            .try_start(JobKind::Render)
            .expect("renders have their own");
        drop(lapse);
        assert!(jobs.try_start(JobKind::Timelapse).is_some());
        let waiting = tokio::spawn({
            let jobs = jobs.clone();
            async move { jobs.start(JobKind::Render).await.is_some() }
        });
        drop(render);
        assert!(waiting.await.expect("joins"), "a restore waits for a slot");
    }
}
