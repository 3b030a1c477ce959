//! Running one task on several hosts at once, at most `forks` at a time, as
//! ansible-core's worker processes do.
//!
//! The events a host's run emits (loop items, retries, warnings) are buffered per host
//! and emitted in the order of the hosts once all of them are done, so the log does not
//! depend on which host finished first. ansible-core prints them as they arrive, so
//! rplay's order is one that ansible-core can print too.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use super::events::Event;

/// The stack of a worker thread: as large as the main thread's, because templating and
/// loops recurse as deep there.
const WORKER_STACK_SIZE: usize = 8 * 1024 * 1024;

thread_local! {
    /// The events of the host this thread runs a task for, while it runs one.
    static HOST_EVENTS: RefCell<Option<Vec<Event>>> = const { RefCell::new(None) };
}

/// Buffers `event` when the current thread runs a task for one host, else returns it
/// to be emitted at once.
pub(super) fn buffer(event: Event) -> Option<Event> {
    HOST_EVENTS.with(|events| match events.borrow_mut().as_mut() {
        Some(events) => {
            events.push(event);
            None
        }
        None => Some(event),
    })
}

/// A job's output and the events it buffered.
type JobOutput<R> = (R, Vec<Event>);

/// Runs `work` for each of `jobs` on up to `forks` threads. Returns each job's output
/// with the events it buffered, in the order of `jobs`.
pub(super) fn run_all<J, R>(
    jobs: &[J],
    forks: usize,
    work: impl Fn(&J) -> R + Sync,
) -> Vec<JobOutput<R>>
where
    J: Sync,
    R: Send,
{
    let next = AtomicUsize::new(0);
    let outputs: Mutex<Vec<Option<JobOutput<R>>>> = Mutex::new(jobs.iter().map(|_| None).collect());
    let worker = || loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(job) = jobs.get(index) else {
            return;
        };
        HOST_EVENTS.with(|events| *events.borrow_mut() = Some(Vec::new()));
        let output = work(job);
        let events = HOST_EVENTS.with(|events| events.borrow_mut().take().unwrap_or_default());
        outputs.lock().unwrap_or_else(PoisonError::into_inner)[index] = Some((output, events));
    };
    std::thread::scope(|scope| {
        let worker = &worker;
        let started = (0..forks.clamp(1, jobs.len().max(1)))
            .filter(|_| {
                std::thread::Builder::new()
                    .name("rplay-fork".to_string())
                    .stack_size(WORKER_STACK_SIZE)
                    .spawn_scoped(scope, worker)
                    .map_err(|err| tracing::warn!(%err, "cannot start a worker thread"))
                    .is_ok()
            })
            .count();
        // Without any worker thread the jobs still run, one after another.
        if started == 0 {
            worker();
        }
    });
    outputs
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .map(|output| output.expect("every job ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_keep_job_order() {
        let jobs: Vec<u64> = (0..7).collect();
        // Later jobs finish first.
        let outputs = run_all(&jobs, 3, |job| {
            std::thread::sleep(std::time::Duration::from_millis(30 - 4 * job));
            job * 10
        });
        let values: Vec<u64> = outputs.iter().map(|(value, _)| *value).collect();
        assert_eq!(values, vec![0, 10, 20, 30, 40, 50, 60]);
    }

    #[test]
    fn events_are_buffered_per_job() {
        let jobs = ["a", "b", "c"];
        let outputs = run_all(&jobs, 2, |job| {
            for n in 0..2 {
                let event = Event::Warning(format!("{job}{n}"));
                assert!(buffer(event).is_none(), "a worker buffers its events");
            }
        });
        for ((), events) in &outputs {
            assert_eq!(events.len(), 2);
        }
        let texts: Vec<String> = outputs
            .iter()
            .flat_map(|(_, events)| events.iter())
            .map(|event| match event {
                Event::Warning(text) => text.clone(),
                other => panic!("unexpected event {other:?}"),
            })
            .collect();
        assert_eq!(texts, ["a0", "a1", "b0", "b1", "c0", "c1"]);
    }

    #[test]
    fn runs_jobs_at_the_same_time() {
        let running = AtomicUsize::new(0);
        let max_running = AtomicUsize::new(0);
        let jobs: Vec<usize> = (0..6).collect();
        run_all(&jobs, 3, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            max_running.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(50));
            running.fetch_sub(1, Ordering::SeqCst);
        });
        let max = max_running.load(Ordering::SeqCst);
        assert!(max > 1, "jobs ran one after another");
        assert!(max <= 3, "{max} jobs ran at once with forks = 3");
    }

    #[test]
    fn outside_a_worker_events_pass_through() {
        assert!(buffer(Event::Warning("now".into())).is_some());
    }
}
