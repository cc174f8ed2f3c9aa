# crossfire's everyday commands. `make help` lists them.
GO ?= go

.PHONY: help run test race bench lint fuzz chaos

# The nightly chaos job's settings; override any of them: make chaos CHAOS_SEEDS=7 CHAOS_DURATION=2m
CHAOS_CLUSTER ?= docker
CHAOS_SEEDS ?= 1,2,3,4,5
CHAOS_DURATION ?= 45s
CHAOS_STORE ?= store-chaos
CHAOS_SUMMARY ?=

help:
	@echo "make run    run the default test (register, lww, partitions) on the embedded cluster"
	@echo "make test   run the test suite, the validation matrix included (go test ./...)"
	@echo "make race   the packages that run fast, under the race detector (as CI runs them)"
	@echo "make bench  run the benchmarks recorded in BENCHMARKS.md"
	@echo "make lint   gofmt and go vet"
	@echo "make fuzz   fuzz the history reader for a minute"
	@echo "make chaos  the nightly chaos job: the validation matrix in containers, longer, five seeds"

run:
	$(GO) run ./cmd/crossfire run

test:
	$(GO) test ./...

race:
	$(GO) test -race . ./history/... ./checkers/... ./nemesis/... ./workloads/... ./db ./db/regionkv/server ./clusters/... ./db/regionkv/resolve ./db/sqlclient ./runfolder ./matrix/... ./report/... ./internal/...
	$(GO) test -race -skip Matrix ./db/regionkv

bench:
	$(GO) test ./history/ -run '^$$' -bench 'Reader|WriterAppend' -benchtime 2s -count 3
	$(GO) test ./checkers/ -run '^$$' -bench Linearizable100k -benchtime 3x -count 3 -benchmem
	$(GO) test ./checkers/ -run '^$$' -bench InventoryCheck -benchtime 3x -count 3
	$(GO) test ./db/regionkv/containers/ -run '^$$' -bench NewToReady -benchtime 5x -count 3
	$(GO) test ./db/regionkv/containers/ -run '^$$' -bench ImagesCold -benchtime 3x -count 3 -timeout 60m
	$(GO) test ./harness/ -run '^$$' -bench RunThroughput -benchtime 1x -count 3 -timeout 30m
	$(GO) test ./db/pglogical/ -run '^$$' -bench Image -benchtime 3x -count 2 -timeout 30m
	$(GO) test ./db/pglogical/ -run '^$$' -bench New -benchtime 2x -count 2 -timeout 30m
	$(GO) test ./harness/ -run '^$$' -bench Pglogical -benchtime 1x -count 2 -timeout 30m
	$(GO) test ./db/mariadb/ -run '^$$' -bench New -benchtime 2x -count 2 -timeout 30m
	$(GO) test ./harness/ -run '^$$' -bench MariaDB -benchtime 1x -count 2 -timeout 30m
	$(GO) test ./report/ -run '^$$' -bench 'ReportWrite100k|Build100k' -benchtime 5x -count 3 -benchmem
	$(GO) test ./report/ -run '^$$' -bench ReportOpen100k -benchtime 3x -count 3
	$(GO) test ./db/regionkv/conflictlog/ -run '^$$' -bench OneRecordGone -benchtime 1x -timeout 30m
	$(GO) test ./cmd/crossfire/binaries/ -run '^$$' -bench Startup -benchtime 200x -count 3
	$(GO) test ./db/regionkv/ -run '^$$' -bench DetectionPower -benchtime 1x -power-seeds 20 -timeout 120m
	$(GO) test ./db/pglogical/matrixtest/ -run '^$$' -bench DetectionPower -benchtime 1x -power-seeds 20 -timeout 240m
	$(GO) test ./db/mariadb/matrixtest/ -run '^$$' -bench DetectionPower -benchtime 1x -power-seeds 20 -timeout 240m

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz:
	$(GO) test ./history/ -run '^$$' -fuzz FuzzReader -fuzztime 60s

chaos:
	$(GO) run ./cmd/crossfire matrix --cluster $(CHAOS_CLUSTER) --seeds $(CHAOS_SEEDS) --duration $(CHAOS_DURATION) \
		--store $(CHAOS_STORE) $(if $(CHAOS_SUMMARY),--summary "$(CHAOS_SUMMARY)")
