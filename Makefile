# crossfire's everyday commands. `make help` lists them.
GO ?= go

.PHONY: help run test bench lint fuzz

help:
	@echo "make run    run the default test (register, lww, partitions) on the embedded cluster"
	@echo "make test   run the test suite, the validation matrix included (go test ./...)"
	@echo "make bench  run the benchmarks recorded in BENCHMARKS.md"
	@echo "make lint   gofmt and go vet"
	@echo "make fuzz   fuzz the history reader for a minute"

run:
	$(GO) run ./cmd/crossfire run

test:
	$(GO) test ./...

bench:
	$(GO) test ./history/ -run '^$$' -bench WriterAppend -benchtime 2s -count 3
	$(GO) test ./checkers/ -run '^$$' -bench Linearizable100k -benchtime 3x -count 3 -benchmem

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz:
	$(GO) test ./history/ -run '^$$' -fuzz FuzzReader -fuzztime 60s
