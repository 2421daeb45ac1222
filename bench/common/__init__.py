"""What the benchmarks under bench/ share: process figures, servers' readiness, the subscriber swarm."""
