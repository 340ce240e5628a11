//! Runs independent jobs on a few threads at once: wstest runs and fuzz
//! targets are each single-threaded, so one at a time leaves cores idle.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// How many jobs run at once unless told: the cores this process may use.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work` on every job, at most `workers` at once, and returns the
/// outcomes in the jobs' order. When `stop` says an outcome ends the run (a
/// crash, say), jobs not yet started are left out.
pub fn run_all<J, T, W, S>(jobs: Vec<J>, workers: usize, work: W, stop: S) -> Vec<(J, T)>
where
    J: Send,
    T: Send,
    W: Fn(&J) -> T + Sync,
    S: Fn(&T) -> bool + Sync,
{
    let workers = workers.clamp(1, jobs.len().max(1));
    let queue = Mutex::new(jobs.into_iter().enumerate().rev().collect::<Vec<_>>());
    let done = Mutex::new(Vec::new());
    let stopped = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let next = queue.lock().expect("no worker panics holding it").pop();
                let Some((index, job)) = next else { break };
                let outcome = work(&job);
                if stop(&outcome) {
                    stopped.store(true, Ordering::SeqCst);
                }
                done.lock()
                    .expect("no worker panics holding it")
                    .push((index, job, outcome));
            });
        }
    });
    let mut done = done.into_inner().expect("the workers have ended");
    done.sort_by_key(|(index, _, _)| *index);
    done.into_iter()
        .map(|(_, job, outcome)| (job, outcome))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_runs_every_job_once_and_keeps_their_order() {
        let outcomes = run_all((0..20).collect(), 3, |&n: &u32| n * 2, |_| false);
        let expected: Vec<(u32, u32)> = (0..20).map(|n| (n, n * 2)).collect();
        assert_eq!(outcomes, expected);
    }

    #[test]
    fn pool_with_one_worker_stops_taking_jobs_after_a_stopping_outcome() {
        let outcomes = run_all((0..10).collect(), 1, |&n: &u32| n, |&n| n == 3);
        assert_eq!(outcomes.len(), 4);
        assert_eq!(outcomes.last(), Some(&(3, 3)));
    }
}
