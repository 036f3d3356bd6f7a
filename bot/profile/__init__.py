"""Profiles: how hot an escape is, from a CPU profile (PGO's `default.pgo`, `-cpuprofile`) or a
memory profile (`go test -bench . -memprofile`). `raw` reads `go tool pprof -raw` text and
`hotness` weighs escapes with it; both are pure. The toolchain runs in `bot.gc.pprof`."""
