//! Sources: the agents whose own session files Chronicle reads and
//! follows, each turning what its agent writes into ordinary store
//! mutations (the store still decides). [`aider`] follows aider's chat
//! history; [`import`] reads the other agents' session files for
//! `ImportSource`, [`follow`] keeps importing what they write, reading a
//! growing file on from where it stopped ([`tail`]); the formats
//! themselves are parsed in `chronicle_interop::sources`.

pub mod aider;
pub mod follow;
pub mod import;
pub mod place;
pub mod tail;
