# Everyday entry points. CI runs `bash .ci/run` (what `make ci` runs).

GO ?= go
FUZZTIME ?= 10s

.PHONY: run build test vet e2e ci fuzz chaos chaos-failover

## run: a single-node broker on 127.0.0.1:9092 with data in ./data
run:
	$(GO) run ./cmd/strata server

## build: the strata binary in ./bin
build:
	$(GO) build -o bin/strata ./cmd/strata

## test: every package's tests (the README's test command)
test:
	$(GO) test ./...

## vet: go vet and gofmt
vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

## e2e: kcat and CLI checks against a real broker (installs kcat if missing)
e2e:
	bash e2e/run.sh

## chaos: the cluster fault scenarios (3-broker clusters as real processes,
## kill -9, SIGSTOP, rolling restarts; build tag chaos; ~5 min on 2 cores).
## A failure prints its seed; STRATA_CHAOS_SEED=<seed> make chaos replays it.
chaos:
	$(GO) test -tags chaos -count=1 -timeout 20m -run Chaos ./internal/clustertest

## chaos-failover: measure failover time (leader kill -9 to the first
## acks=all write acknowledged), FAILOVERS kills (a figure, not a test)
FAILOVERS ?= 5
chaos-failover:
	$(GO) test -tags chaos -count=1 -timeout 20m -run '^$$' -bench ChaosFailover -benchtime $(FAILOVERS)x ./internal/clustertest

## ci: exactly what CI runs
ci:
	bash .ci/run

## fuzz: every Fuzz target for FUZZTIME each (make fuzz FUZZTIME=1m)
fuzz:
	bash .ci/fuzz $(FUZZTIME)
