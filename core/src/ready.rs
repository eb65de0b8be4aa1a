//! Running a forward pass's future where nothing really waits. The forward is `async` only for
//! WebGPU, whose read-back is a promise; on the CPU, and on a native GPU (whose waits block in
//! `device.poll`), the future is complete at its first poll, so the blocking entry points
//! (`Session::eval`, `Generator::step`) poll it once.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use crate::error::{Error, Result};

/// `f`'s output if it completes at once; otherwise an internal error (a future that must
/// suspend, i.e. the browser's GPU, has to be awaited by its caller).
pub fn ready<F: Future>(f: F) -> Result<F::Output> {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Ok(v),
        Poll::Pending => Err(Error::Internal(
            "a GPU pass that must be awaited was run by a blocking call".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_a_ready_future_and_refuses_one_that_suspends() {
        assert_eq!(ready(async { 7 }).ok(), Some(7));
        assert!(matches!(
            ready(std::future::pending::<()>()),
            Err(Error::Internal(_))
        ));
    }
}
