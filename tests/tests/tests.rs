//! The end-to-end suite as one test binary (the way ripgrep keeps its
//! integration tests): one module per area, all sharing `common`, so the
//! suite compiles and links once instead of once per file. The tests run in
//! parallel inside one process, so none of them may change process-wide
//! state (environment, current directory, signal dispositions, umask):
//! whatever a child process needs is passed to its `Command`. The few
//! tests that load the machine for long hold `common::heavy()`, so no two of
//! them run at once.

mod common;

mod cli_behaviour;
mod cli_export_cut;
mod cli_export_image;
mod cli_search;
mod cli_service;
mod cli_workflow;
mod client_rules;
mod daemon_access;
mod daemon_concurrency;
mod daemon_crash;
mod daemon_damage;
mod daemon_disk_full;
mod daemon_errors;
mod daemon_export;
mod daemon_export_image;
mod daemon_export_scripts;
mod daemon_fork;
mod daemon_group_commit;
mod daemon_hostile;
mod daemon_lifecycle;
mod daemon_load;
mod daemon_mutate;
mod daemon_saved;
mod daemon_search;
mod daemon_service;
mod daemon_sessions;
mod daemon_socket_abuse;
mod daemon_wal;
mod daemon_watch;
mod daemon_watch_files;
mod interop_aider;
mod interop_bundle;
mod interop_follow;
mod interop_sources;
