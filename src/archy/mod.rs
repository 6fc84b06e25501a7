//! Archy YAML as Genesys reads it, independent of how flowsmith writes it: the key-path
//! catalogue of real flow files ([`catalogue`]) and an interpreter of the subset flowsmith
//! writes ([`interpret`]).

pub mod catalogue;
pub mod interpret;
