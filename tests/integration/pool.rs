use std::collections::HashSet;
use std::time::{Duration, Instant};

use hecaton::{Error, Pool, TaskError};
use hecaton_tests::fixture;
use hecaton_tests::guests::{PROBE, SQUARE};

use crate::load;

fn pool(workers: usize) -> Pool {
    Pool::builder().workers(workers).build().unwrap()
}

#[test]
fn map_returns_outputs_in_input_order() {
    let squares: Vec<i64> = pool(2).map(&load(SQUARE), "square", 1..=5).unwrap();
    assert_eq!(squares, [1, 4, 9, 16, 25]);
}

#[test]
fn map_of_nothing_is_empty() {
    let squares: Vec<i64> = pool(2)
        .map(&load(SQUARE), "square", Vec::<i64>::new())
        .unwrap();
    assert!(squares.is_empty());
}

#[test]
fn every_item_is_processed_exactly_once_under_stealing() {
    // 1M tiny items, small chunks so that the deques are stolen from constantly; the checksum and
    // the count catch a lost or a duplicated item.
    let module = load(fixture("counter-global.wat"));
    let pool = pool(4);
    let n = 1_000_000usize;
    let outputs: Vec<Result<u32, TaskError>> = pool
        .job(&module, "count")
        .unwrap()
        .chunksize(7)
        .map_all(vec![(); n]);
    assert_eq!(outputs.len(), n);
    assert!(
        outputs.iter().all(|output| *output == Ok(1)),
        "every task ran in a fresh instance"
    );
    let squares: Vec<i64> = pool
        .job(&load(SQUARE), "square")
        .unwrap()
        .chunksize(3)
        .map(0..100_000i64)
        .unwrap();
    let expected: i64 = (0..100_000i64).map(|x| x * x).sum();
    assert_eq!(squares.iter().sum::<i64>(), expected);
    assert!(
        squares
            .iter()
            .enumerate()
            .all(|(i, s)| *s == (i as i64) * (i as i64))
    );
}

#[test]
fn skewed_workload_is_balanced_by_stealing() {
    // A few items 100x heavier than the rest. The tasks sleep rather than spin, so that the tests
    // running beside this one on the same cores cannot skew the timing: 1 worker takes the sum of
    // the items (~600 ms), 2 workers about half of it when the idle one steals; a scheduler that
    // left queued items behind a heavy one would take most of the serial time.
    let module = load(PROBE);
    let inputs: Vec<u64> = (0..200)
        .map(|i| if i % 50 == 0 { 100 } else { 1 })
        .collect();
    let time = |workers| {
        let pool = pool(workers);
        let started = Instant::now();
        let naps: Vec<u64> = pool
            .job(&module, "nap")
            .unwrap()
            .chunksize(1)
            .map(&inputs)
            .unwrap();
        assert_eq!(naps, inputs);
        started.elapsed()
    };
    let serial = time(1);
    let parallel = time(2);
    assert!(
        parallel.as_secs_f64() < serial.as_secs_f64() * 0.7,
        "2 workers took {parallel:?}, 1 worker {serial:?}"
    );
}

#[test]
fn unordered_output_is_a_permutation() {
    let pool = pool(2);
    let outcomes: Vec<(usize, Result<i64, TaskError>)> = pool
        .job(&load(SQUARE), "square")
        .unwrap()
        .chunksize(1)
        .imap_unordered(0..500i64)
        .collect();
    let indices: HashSet<usize> = outcomes.iter().map(|(i, _)| *i).collect();
    assert_eq!(indices.len(), 500);
    assert!(
        outcomes
            .iter()
            .all(|(i, out)| *out == Ok((*i as i64) * (*i as i64)))
    );
}

#[test]
fn map_is_fail_fast_with_the_first_failing_index() {
    // Input 0 fails after a 300 ms nap, input 1 at once: the map waits for input 0 and reports
    // it, the first failure by index, not input 1, the first in time.
    let pool = pool(2);
    let inputs: Vec<(u64, i64, i64)> = (0..1000)
        .map(|i| match i {
            0 => (300, i, 0),
            1 => (0, i, 0),
            _ => (0, i, 1),
        })
        .collect();
    let started = Instant::now();
    let error = pool
        .job(&load(PROBE), "nap_then_divide")
        .unwrap()
        .chunksize(1)
        .map::<_, i64>(&inputs)
        .unwrap_err();
    match error {
        Error::Task {
            index,
            source: TaskError::Guest { message },
        } => {
            assert_eq!(index, 0);
            assert_eq!(message, "cannot divide 0 by 0");
        }
        other => panic!("expected the failure of input 0, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn fail_fast_stops_scheduling_early() {
    // Input 0 fails at once; the rest would spin for a long time each.
    let pool = pool(2);
    let inputs: Vec<(u64, u64)> = (0..400).map(|i| (i, 0)).collect();
    let started = Instant::now();
    let error = pool
        .job(&load(PROBE), "fail_or_spin")
        .unwrap()
        .chunksize(1)
        .map::<_, u64>(&inputs)
        .unwrap_err();
    assert!(matches!(error, Error::Task { index: 0, .. }), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn keep_going_returns_one_outcome_per_input() {
    let pool = pool(2);
    let inputs: Vec<(i64, i64)> = (0..100).map(|i| (i, i % 10)).collect();
    let outcomes: Vec<Result<i64, TaskError>> = pool
        .map_all(&load(PROBE), "checked_divide", &inputs)
        .unwrap();
    assert_eq!(outcomes.len(), 100);
    for (i, outcome) in outcomes.iter().enumerate() {
        if i % 10 == 0 {
            assert!(
                matches!(outcome, Err(TaskError::Guest { .. })),
                "{i}: {outcome:?}"
            );
        } else {
            assert_eq!(*outcome, Ok(i as i64 / (i as i64 % 10)));
        }
    }
}

#[test]
fn imap_over_an_endless_iterator_takes_1000_and_stops() {
    let pool = pool(2);
    let module = load(SQUARE);
    let squares: Vec<i64> = pool
        .imap(&module, "square", 0i64..)
        .unwrap()
        .take(1000)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(squares.len(), 1000);
    assert_eq!(squares[999], 999 * 999);
}

#[test]
fn a_slow_consumer_stops_the_reading() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Outcomes waiting for the consumer count against the map's bound (64 Ki items, or four
    // chunks per worker if more), however fast the workers are: memory stays bounded.
    let read = AtomicUsize::new(0);
    let module = load(fixture("tally.wat"));
    let pool = pool(2);
    let inputs = (0_i64..).inspect(|_| {
        read.fetch_add(1, Ordering::Relaxed);
    });
    let mut outcomes = pool
        .job(&module, "tally")
        .unwrap()
        .chunksize(1000)
        .isolation(hecaton::Isolation::Chunk)
        .imap::<_, i64>(inputs);
    let bound = 64 * 1024 + 1000;
    for consumed in 1..=40_000 {
        assert!(outcomes.next().unwrap().is_ok());
        if consumed % 1000 == 0 {
            // The workers finish everything queued while the consumer sleeps.
            std::thread::sleep(Duration::from_millis(5));
            let ahead = read.load(Ordering::Relaxed) - consumed;
            assert!(
                ahead <= bound,
                "{ahead} inputs read ahead after {consumed} consumed"
            );
        }
    }
}

#[test]
fn fresh_instance_per_task_in_map() {
    let outputs: Vec<u32> = pool(2)
        .map(&load(PROBE), "count_calls", vec![(); 200])
        .unwrap();
    assert!(outputs.iter().all(|&calls| calls == 1));
}

#[test]
fn starmap_passes_tuples_as_arguments() {
    let quotients: Vec<i64> = pool(2)
        .starmap(&load(PROBE), "checked_divide", [(10, 2), (9, 3)])
        .unwrap();
    assert_eq!(quotients, [5, 3]);
}

#[test]
fn apply_and_apply_async() {
    let pool = pool(2);
    let module = load(SQUARE);
    assert_eq!(pool.apply::<_, i64>(&module, "square", &9).unwrap(), 81);
    let mut handle = pool
        .apply_async::<_, u64>(&load(PROBE), "spin", &5_000_000u64)
        .unwrap();
    let quick = pool.apply_async::<_, i64>(&module, "square", &3).unwrap();
    assert_eq!(quick.get(), Ok(9));
    handle.wait();
    assert!(handle.ready());
    assert_eq!(
        handle.get_timeout(Duration::from_secs(1)),
        Some(Ok(5_000_000))
    );
}

#[test]
fn get_timeout_returns_none_while_running() {
    let pool = pool(1);
    let mut handle = pool
        .apply_async::<_, u64>(&load(PROBE), "spin_forever", &())
        .unwrap();
    assert_eq!(handle.get_timeout(Duration::from_millis(50)), None);
    assert!(!handle.ready());
    pool.terminate();
    assert_eq!(handle.get(), Err(TaskError::Cancelled));
}

#[test]
fn terminate_interrupts_running_tasks_and_cancels_queued_ones() {
    let pool = pool(2);
    let module = load(PROBE);
    let handles: Vec<_> = (0..6)
        .map(|_| {
            pool.apply_async::<_, u64>(&module, "spin_forever", &())
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    pool.terminate();
    assert!(started.elapsed() < Duration::from_secs(2));
    for handle in handles {
        assert_eq!(handle.get(), Err(TaskError::Cancelled));
    }
    assert!(matches!(pool.job(&module, "answer"), Err(Error::Closed)));
}

#[test]
fn close_refuses_new_jobs_and_join_waits_for_queued_ones() {
    let pool = pool(2);
    let module = load(SQUARE);
    let handles: Vec<_> = (0..10)
        .map(|i| pool.apply_async::<_, i64>(&module, "square", &i).unwrap())
        .collect();
    pool.close();
    assert!(matches!(pool.job(&module, "square"), Err(Error::Closed)));
    pool.join();
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.get(), Ok((i * i) as i64));
    }
}

#[test]
fn zero_workers_is_a_config_error() {
    assert!(matches!(
        Pool::builder().workers(0).build(),
        Err(Error::Config(_))
    ));
}

#[test]
fn a_pool_runs_as_many_tasks_at_once_as_it_has_workers() {
    // Naps take time but no CPU, so other tests on the same cores cannot slow them: 4 naps of
    // 200 ms take at least 800 ms on one worker, and 400 ms on 2; on 4 workers, about 200 ms.
    let module = load(PROBE);
    let naps = |workers| {
        let pool = pool(workers);
        assert_eq!(pool.workers(), workers);
        let started = Instant::now();
        let naps: Vec<u64> = pool
            .job(&module, "nap")
            .unwrap()
            .chunksize(1)
            .map([200u64; 4])
            .unwrap();
        assert_eq!(naps, [200; 4]);
        started.elapsed()
    };
    let one = naps(1);
    assert!(one >= Duration::from_millis(800), "{one:?}");
    let four = naps(4);
    assert!(four < Duration::from_millis(400), "{four:?}");
}

#[test]
fn retries_run_a_failed_task_again_and_count_the_attempts() {
    let module = load(hecaton_tests::guests::ADVERSARY);
    let outcome = |retries| {
        let pool = Pool::builder().workers(1).retries(retries).build().unwrap();
        let job = pool.job(&module, "attempt_or_fail").unwrap();
        let outcome = job
            .imap_raw(std::iter::once(vec![Ok(b"3".to_vec())]), true)
            .unwrap()
            .next()
            .unwrap();
        (
            outcome.attempts,
            outcome.result.and_then(|output| output.decode::<u32>()),
        )
    };
    assert_eq!(outcome(2), (3, Ok(3)));
    let (attempts, result) = outcome(1);
    assert_eq!(attempts, 2);
    assert_eq!(
        result,
        Err(TaskError::Guest {
            message: "attempt 2 failed".into()
        })
    );
    assert_eq!(outcome(0).0, 1);
}

#[test]
fn apply_async_runs_through_the_attempt_loop_with_the_pools_retries() {
    let module = load(hecaton_tests::guests::ADVERSARY);
    let pool = Pool::builder().workers(1).retries(2).build().unwrap();
    let attempt: u32 = pool.apply(&module, "attempt_or_fail", &3).unwrap();
    assert_eq!(attempt, 3);
}

#[test]
fn a_pool_built_for_an_engine_runs_and_terminates_that_engines_tasks() {
    let engine = hecaton::Engine::builder().build().unwrap();
    let module = hecaton::Module::from_file_in(&engine, hecaton_tests::guests::PROBE).unwrap();
    let pool = Pool::builder().engine(&engine).workers(1).build().unwrap();
    assert_eq!(pool.apply::<_, u32>(&module, "answer", &()).unwrap(), 42);
    let spinning = pool
        .apply_async::<_, u64>(&module, "spin_forever", &())
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    pool.terminate();
    assert_eq!(spinning.get(), Err(TaskError::Cancelled));
}
