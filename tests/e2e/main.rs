//! End-to-end tests: the built binary, run as Lambda runs it, against moto and a local Slack.

mod support;

mod actions;
mod app;
mod charts;
mod cli;
mod concurrency;
mod emulator;
mod faults;
mod graphs;
mod hostile;
mod hygiene;
mod lambda;
mod network;
mod preview;
mod rotation;
mod route_cli;
mod routes;
mod storm;
mod threads;
