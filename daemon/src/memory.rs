//! Keeping the heap small. glibc gives threads arenas of their own (up to
//! eight per core) and keeps freed memory in the arena of the thread that
//! allocated it, so after an import the parser's and writer's arenas stay
//! resident at the import's peak while the search index, on threads of
//! its own, takes its memory on top (`chronicle-bench-sources` measured
//! both phases). The daemon caps the arenas at two at start, and
//! `malloc_trim` returns the free pages of every arena after bulk work.

/// Arenas glibc may create: one per core of the small machines Chronicle
/// is measured on. More only spread one peak's garbage over more heaps.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MAX_ARENAS: libc::c_int = 2;

/// Caps glibc's arenas ([`MAX_ARENAS`]); call it first thing in `main`,
/// before any other thread exists. Does nothing off glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn limit_arenas() {
    // SAFETY: mallopt takes no pointers; before any thread exists nothing
    // else allocates concurrently. A refusal (0) leaves glibc's default.
    let accepted = unsafe { libc::mallopt(libc::M_ARENA_MAX, MAX_ARENAS) } == 1;
    if !accepted {
        eprintln!("chronicled: glibc refused to cap its malloc arenas; memory use may be higher");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() {}

/// Returns the allocator's free pages to the system; call it after bulk
/// work, not on a hot path (glibc walks and locks every arena in turn).
/// Does nothing off glibc, whose alternatives return memory themselves.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_freed_heap() {
    // SAFETY: malloc_trim takes no pointers and only returns pages that no
    // allocation uses; glibc locks each arena while it trims it.
    let released = unsafe { libc::malloc_trim(0) } == 1;
    tracing::debug!(released, "returned freed heap to the system");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_freed_heap() {}
