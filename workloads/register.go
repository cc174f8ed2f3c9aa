package workloads

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"crossfire/checkers"
	"crossfire/history"
)

// RegisterName is the register workload's name.
const RegisterName = "register"

// Register drives read, write and cas over a few independent registers (keys r0, r1 …) with
// small random integers, so that writes collide and stale reads show. Its checker is
// linearizable, with a cas-register model per key.
type Register struct {
	keys    int
	timeout time.Duration
	client  *http.Client
}

// NewRegister makes the register workload; the defaults are 3 keys and a 1s timeout.
func NewRegister(o Options) Workload {
	if o.Keys <= 0 {
		o.Keys = 3
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	return &Register{keys: o.Keys, timeout: o.Timeout, client: newClient()}
}

// newClient is an HTTP client for workload traffic: no client-wide timeout (every op has its
// own context) and enough idle connections for every worker.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}}
}

// Name implements Workload.
func (w *Register) Name() string { return RegisterName }

// Setup implements Workload: registers start empty.
func (w *Register) Setup() []history.Op { return nil }

// Retryable implements Workload: a register op is not retried; a fresh process goes on.
func (w *Register) Retryable(history.Op) bool { return false }

func (w *Register) key(i int) string { return fmt.Sprintf("r%d", i) }

// Next implements Workload: half reads, a third writes, the rest cas, values 0 to 4.
func (w *Register) Next(r *rand.Rand) history.Op {
	op := history.Op{Type: history.Invoke, Key: w.key(r.IntN(w.keys))}
	switch x := r.IntN(6); {
	case x < 3:
		op.F, op.Value = "read", history.Null
	case x < 5:
		op.F, op.Value = "write", history.Value(r.IntN(5))
	default:
		op.F, op.Value = "cas", history.Value([2]int{r.IntN(5), r.IntN(5)})
	}
	return op
}

// Final implements Workload: a read of every key.
func (w *Register) Final() []history.Op {
	out := make([]history.Op, w.keys)
	for i := range out {
		out[i] = history.Op{Type: history.Invoke, F: "read", Key: w.key(i), Value: history.Null}
	}
	return out
}

// Checkers implements Workload.
func (w *Register) Checkers() []checkers.Checker {
	return []checkers.Checker{checkers.Linearizable{}, checkers.Convergence{}, checkers.Conflicts{}}
}

// Invoke implements Workload.
func (w *Register) Invoke(ctx context.Context, ep Endpoint, op history.Op) history.Op {
	body := map[string]any{"key": op.Key}
	switch op.F {
	case "read":
	case "write":
		body["value"] = op.Value
	case "cas":
		var pair []json.RawMessage
		if err := json.Unmarshal(op.Value, &pair); err != nil || len(pair) != 2 {
			return complete(op, history.Fail, nil, "cas value is not [expected, new]")
		}
		body["expected"], body["new"] = pair[0], pair[1]
	default:
		return complete(op, history.Fail, nil, "unknown register op "+op.F)
	}
	var resp struct {
		Value  json.RawMessage   `json:"value"`
		TS     int64             `json:"ts"`
		Origin string            `json:"origin"`
		VV     map[string]uint64 `json:"vv"`
		Node   string            `json:"node"`
	}
	outcome := post(ctx, w.client, w.timeout, ep.URL+"/register/"+op.F, body, &resp)
	var done history.Op
	switch {
	case outcome.ok:
		var v json.RawMessage
		if op.F == "read" {
			v = resp.Value
		}
		done = complete(op, history.OK, v, "")
		done.SetMeta("ts", resp.TS, "origin", resp.Origin, "vv", resp.VV, "served_by", resp.Node)
	case outcome.precondition:
		done = complete(op, history.Fail, nil, "precondition failed")
	default:
		done = unanswered(op, outcome, op.F == "read")
	}
	return done
}

// unanswered completes an op the store did not carry out with an answer: fail when it certainly
// did not take effect (the store refused it, or it is a read, which changes nothing), info when
// it may have. This is the one place where a client decides that, so no workload records a
// maybe as a no.
func unanswered(op history.Op, out outcome, read bool) history.Op {
	if out.definite || read {
		return complete(op, history.Fail, nil, out.err)
	}
	return complete(op, history.Info, nil, out.err)
}

// complete builds op's completion.
func complete(op history.Op, t history.Type, value json.RawMessage, errMsg string) history.Op {
	return history.Op{Process: op.Process, Type: t, F: op.F, Key: op.Key, Value: value, Node: op.Node, Req: op.Req, Error: errMsg}
}

// outcome is what one request to a node came to.
type outcome struct {
	ok           bool   // 200
	precondition bool   // 409: the store refused on purpose, nothing was written
	definite     bool   // certainly not applied
	err          string // why not ok
}

// post sends body as JSON and decodes a 200 answer into out. Whatever may have reached the node
// without an answer is indeterminate.
func post(ctx context.Context, c *http.Client, timeout time.Duration, url string, body, out any) outcome {
	b, err := json.Marshal(body)
	if err != nil {
		return outcome{definite: true, err: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return outcome{definite: true, err: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return outcome{definite: true, err: "connection refused: " + err.Error()}
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return outcome{err: "timeout"}
		}
		return outcome{err: err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return outcome{err: "reading the answer: " + err.Error()}
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.Unmarshal(data, out); err != nil {
			return outcome{err: "bad answer: " + err.Error()}
		}
		return outcome{ok: true}
	case http.StatusConflict:
		return outcome{precondition: true, definite: true, err: "precondition failed"}
	}
	var e struct {
		Error    string `json:"error"`
		Definite bool   `json:"definite"`
	}
	if json.Unmarshal(data, &e) != nil {
		e.Error = fmt.Sprintf("status %d: %s", resp.StatusCode, bytes.TrimSpace(data))
	}
	if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotFound {
		e.Definite = true
	}
	return outcome{definite: e.Definite, err: e.Error}
}
