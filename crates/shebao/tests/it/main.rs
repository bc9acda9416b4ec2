//! The one integration-test binary (STYLE 13): every scenario runs against the real server
//! on 127.0.0.1:0, once on SQLite and once on PostgreSQL, with a simulated clock. Tests
//! cite the rule they prove.

// Tests may unwrap and panic (STYLE 12); the lints guard the server code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod activation;
mod api;
mod audit;
mod browser;
mod cluster;
mod concurrency;
mod console;
mod crash;
mod early_hours;
mod ecard;
mod employers;
mod failover;
mod keys;
mod loss;
mod money_property;
mod never_logged;
mod ops;
mod passwords;
mod people;
mod races;
mod retries;
mod selfservice;
mod settlement;
mod sources;
mod strength;
mod trust;
mod trust_access;
