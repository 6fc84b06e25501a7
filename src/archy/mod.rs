//! Archy YAML as Genesys reads it, independent of how flowsmith writes it: the key-path
//! catalogue of real flow files ([`catalogue`]).

pub mod catalogue;
