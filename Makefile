# ssprflow. The two commands: `make demo` and `make test`.
GO ?= go
export GOTOOLCHAIN := local
export GOFLAGS ?= -buildvcs=false

FUZZTIME ?= 60s
FUZZ_TARGETS := \
	./internal/plan:FuzzLoad \
	./internal/memberlist:FuzzParse \
	./internal/roster:FuzzRead \
	./internal/ad:FuzzParseSD \
	./internal/ad:FuzzParseGptTmpl \
	./internal/ad:FuzzParseGPLink \
	./internal/yamldoc:FuzzParse \
	./internal/didyoumean:FuzzSuggest \
	./internal/approval:FuzzParseDecision \
	./internal/approval:FuzzParseServiceSubject \
	./internal/writeback:FuzzParseOutput \
	./internal/entrasim:FuzzParseFaults \
	./internal/entrasim:FuzzFilter \
	./internal/entra/graph:FuzzPortalDecode \
	./internal/entra/graph:FuzzParseRetryAfter \
	./internal/payloadcrypt:FuzzDecode \
	./internal/signin:FuzzOpen \
	./internal/approvalweb:FuzzCookieDecode

.PHONY: all build demo demo-org test test-topology lint windows bench fuzz deps clean

all: build

DEV := ./internal/localstack/cmd/ssprflow-dev

## build: the three binaries into bin/ — ssprflow (operators and approvers),
## ssprflow-worker (worker, writeback agent, AD tools), ssprflow-dev (local stack)
build:
	$(GO) build -o bin/ssprflow ./starter
	$(GO) build -o bin/ssprflow-worker ./worker
	$(GO) build -o bin/ssprflow-dev $(DEV)

## deps: system packages (Samba AD DC for directory tests and the demo); idempotent
deps:
	.ci/install-deps

## demo: a whole rollout on a local stack, with its report
demo: deps
	$(GO) build -o bin/ssprflow-dev $(DEV)
	$(GO) build -o bin/ssprflow ./starter
	./bin/ssprflow-dev demo

## demo-org: the organisation-scale demo: 100,000 simulated users, waves by
## group, by an HR file of 50,000 UPNs, by a filter and by a percentage
## (examples/org-waves.yaml with a generated file and 5 s soaks: gate timers
## run on the real clock); prints wall time and peak RSS
ORG_USERS ?= 100000
demo-org: deps
	$(GO) build -o bin/ssprflow-dev $(DEV)
	mkdir -p bin/org
	sed -e 's#waves/hr-wave.csv#hr-50k.csv#' -e 's#soak: 1d#soak: 5s#' examples/org-waves.yaml > bin/org/org-waves.yaml
	{ echo userPrincipalName; seq -f 'user%06g@contoso.onmicrosoft.com' 20001 70000; } > bin/org/hr-50k.csv
	/usr/bin/time -f 'wall %e s, peak RSS %M KiB' ./bin/ssprflow-dev demo --plan bin/org/org-waves.yaml --users $(ORG_USERS) $(DEMO_FLAGS)

## test: lint, the Windows build of the agent, unit and integration tests with -race
test: deps lint windows
	$(GO) test -race -count=1 -timeout 60m ./...

## test-topology: the production-topology suite (internal/topology): a
## Temporal server process on PostgreSQL, three clustered nats-server with R3
## streams, two ssprflow-worker processes, the writeback agent, the tenant
## simulator and a Samba DC; one rollout (pilot, a wave of 4,000, a gate) per
## fault: worker SIGKILL, NATS stream leader SIGKILL, Temporal restart,
## PostgreSQL down 10 s, agent SIGKILL. `make test` runs its short variant
## (the worker kill only). SSPRFLOW_TOPOLOGY_FAULTS=name,... picks faults.
test-topology: deps
	SSPRFLOW_TOPOLOGY=full $(GO) test -race -count=1 -timeout 30m -v -run '^TestFaults$$' ./internal/topology

## lint: gofmt and go vet. vet runs with -race so that it compiles the same
## (race-instrumented) packages the tests use: one cold compile, not two.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -race ./...

## windows: the worker (and its writeback agent) cross-compiles for Windows
windows:
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./worker

## bench: every benchmark (see BENCHMARKS.md), and the 50,000-member
## kill test at full size
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...
	SSPRFLOW_SCALE=1 $(GO) test -count=1 -v -timeout 30m -run '^TestWaveSurvivesKills$$' ./internal/e2e

## fuzz: each fuzz target for FUZZTIME
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

clean:
	rm -rf bin
