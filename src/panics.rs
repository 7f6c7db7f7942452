//! A panic must cost one request, never the data or a secret. The hook logs
//! where it happened and which request was being served, never the panic's
//! message: that may quote input (a search text, a name). The request log
//! turns a panicking request into a plain 500, and a connection that was
//! inside a transaction when its thread panicked never goes back to the pool
//! (`db::ConnectionManager::has_broken`).

use std::cell::RefCell;
use std::panic::PanicHookInfo;

thread_local! {
    /// The request this thread is working for now.
    static CURRENT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The id of the request this thread is working for, if any.
pub fn current_request() -> Option<String> {
    CURRENT.with_borrow(Clone::clone)
}

/// While alive, this thread works for the request `id`; the one before is
/// restored on drop. Entered for each poll of a request's future, and in
/// each blocking task run for it.
pub struct RequestScope {
    previous: Option<String>,
}

impl RequestScope {
    pub fn enter(id: Option<String>) -> Self {
        Self {
            previous: CURRENT.replace(id),
        }
    }
}

impl Drop for RequestScope {
    fn drop(&mut self) {
        CURRENT.set(self.previous.take());
    }
}

/// The log line for a panic: where, in which thread and request, and
/// nothing of the payload.
pub fn describe(info: &PanicHookInfo<'_>) -> String {
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_else(|| "an unknown place".into());
    let thread = std::thread::current();
    let thread = thread.name().unwrap_or("unnamed");
    let request = current_request().unwrap_or_else(|| "-".into());
    format!("panic at {location} in thread {thread}, request {request} (its message is not logged: it may quote input)")
}

/// Replaces the default hook, which prints the payload, with one that logs
/// [`describe`]. Set by the command line, not by the library, so tests keep
/// their assertion messages.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| log::error!("{}", describe(info))));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

    #[test]
    fn the_hook_names_place_and_request_but_never_the_payload() {
        let before = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| SEEN.lock().unwrap().push(describe(info))));
        let outcome = std::panic::catch_unwind(|| {
            let _scope = RequestScope::enter(Some("5eed5eed5eed5eed".into()));
            let search = String::from("Иванов Иван");
            panic!("byte index 1 is not a char boundary in `{search}`");
        });
        std::panic::set_hook(before);
        assert!(outcome.is_err());
        let seen = SEEN.lock().unwrap().clone();
        let line = seen.last().expect("the hook ran");
        assert!(line.contains("src/panics.rs:"), "{line}");
        assert!(line.contains("request 5eed5eed5eed5eed"), "{line}");
        assert!(
            !line.contains("Иванов") && !line.contains("char boundary"),
            "{line}"
        );
        assert_eq!(current_request(), None, "the scope ends with the unwinding");
    }
}
