//! Keeping the heap small. glibc gives threads arenas of their own (up to
//! eight per core) and keeps freed memory in the arena of the thread that
//! allocated it, so after an import the parser's and writer's arenas stay
//! resident at the import's peak while the search index, on threads of
//! its own, takes its memory on top (`chronicle-bench-sources` measured
//! both phases). And once a large block is freed, glibc raises its mmap
//! threshold (up to 32 MiB), so later large buffers — a part's messages,
//! a page of a session — come from the heap and leave holes in it. The
//! daemon sets glibc's limits at start, and `malloc_trim` returns the free
//! pages of every arena after bulk work.

/// Arenas glibc may create: one per core of the small machines Chronicle
/// is measured on. More only spread one peak's garbage over more heaps.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MAX_ARENAS: libc::c_int = 2;
/// Blocks this large or larger are mapped on their own and unmapped when
/// freed; setting it also stops glibc from raising it. At 256 KiB the
/// imports measured 10–30 % slower (fresh pages for every large buffer).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1024 * 1024;
/// Free memory at the top of a heap beyond this goes back to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 4 * 1024 * 1024;

/// Sets glibc's allocator limits ([`MAX_ARENAS`], [`MMAP_THRESHOLD`],
/// [`TRIM_THRESHOLD`]); call it first thing in `main`, before any other
/// thread exists. Does nothing off glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn limit_heap() {
    for (name, param, value) in [
        ("M_ARENA_MAX", libc::M_ARENA_MAX, MAX_ARENAS),
        ("M_MMAP_THRESHOLD", libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        ("M_TRIM_THRESHOLD", libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD),
    ] {
        // SAFETY: mallopt takes no pointers; before any thread exists
        // nothing else allocates concurrently. A refusal (0) leaves
        // glibc's default.
        if unsafe { libc::mallopt(param, value) } != 1 {
            eprintln!("chronicled: glibc refused {name} = {value}; memory use may be higher");
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_heap() {}

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
