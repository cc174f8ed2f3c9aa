package regionkv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/db/regionkv/server"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/workloads"
)

// client is regionkv's client of one workload at one leader, over its HTTP API. Each client has
// a connection pool of its own, so closing it (after an op of unknown outcome) drops whatever
// that op left on the wire.
type client struct {
	workload string
	layout   string // the profile workload's: ProfileLWW, ProfileFields or ProfileSingleLeader
	url      string
	timeout  time.Duration
	http     *http.Client
}

func newClient(c db.ClientConfig) (*client, error) {
	switch c.Workload {
	case workloads.RegisterName, workloads.InventoryName, workloads.CartName, workloads.ProfileName, workloads.ClaimsName,
		workloads.ListAppendName, workloads.RWRegisterName:
	default:
		return nil, fmt.Errorf("regionkv has no client for the %s workload", c.Workload)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	layout := c.Options["strategy"]
	if layout == "" {
		layout = ProfileStrategies[0]
	}
	return &client{workload: c.Workload, layout: layout, url: c.Node.URL, timeout: timeout,
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}}}, nil
}

// Close implements db.Client.
func (c *client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Invoke implements db.Client.
func (c *client) Invoke(ctx context.Context, op history.Op) history.Op {
	switch c.workload {
	case workloads.RegisterName:
		return c.register(ctx, op)
	case workloads.InventoryName:
		return c.inventory(ctx, op)
	case workloads.ProfileName:
		return c.profile(ctx, op)
	case workloads.ClaimsName:
		return c.claims(ctx, op)
	case workloads.ListAppendName, workloads.RWRegisterName:
		return c.txn(ctx, op)
	default:
		return c.cart(ctx, op)
	}
}

func (c *client) register(ctx context.Context, op history.Op) history.Op {
	body := map[string]any{"key": op.Key}
	switch op.F {
	case "read":
	case "write":
		body["value"] = op.Value
	case "cas":
		var pair []json.RawMessage
		if err := json.Unmarshal(op.Value, &pair); err != nil || len(pair) != 2 {
			return history.Refused("cas value is not [expected, new]")
		}
		body["expected"], body["new"] = pair[0], pair[1]
	default:
		return history.Refused("unknown register op " + op.F)
	}
	var resp registerAnswer
	out := c.post(ctx, "/register/"+op.F, body, &resp)
	switch {
	case out.ok:
		var v json.RawMessage
		if op.F == "read" {
			v = resp.Value
		}
		done := complete(history.OK, v, "")
		done.SetMeta("ts", resp.TS, "origin", resp.Origin, "vv", resp.VV, "served_by", resp.Node)
		return done
	case out.precondition:
		return complete(history.Fail, nil, errPrecondition)
	}
	return unanswered(out, op.F == "read")
}

// errPrecondition is a register cas whose comparison failed: nothing was written.
const errPrecondition = "precondition failed"

// swapFailed reports whether done is a cas whose comparison failed.
func swapFailed(done history.Op) bool {
	return done.Type == history.Fail && done.Error == errPrecondition
}

// registerOp carries out one register operation for the profile and claims layouts.
func (c *client) registerOp(ctx context.Context, f, key string, value json.RawMessage) history.Op {
	return c.register(ctx, history.Op{F: f, Key: key, Value: value})
}

// The layouts of a profile (the profile workload's strategy option).
const (
	// ProfileLWW keeps a profile as one register holding the whole record, last writer wins: an
	// edit reads the record at its leader and swaps in the record with one field changed (a
	// row whose image replicates whole).
	ProfileLWW = "lww"
	// ProfileFields keeps each field of a profile in a register of its own (p0/email …), last
	// writer wins per field.
	ProfileFields = "fields"
	// ProfileSingleLeader is ProfileLWW with every operation at one leader: the control.
	ProfileSingleLeader = "single-leader"
)

// ProfileStrategies are the profile workload's strategies, the default first.
var ProfileStrategies = []string{ProfileLWW, ProfileFields, ProfileSingleLeader}

// registerFor is the register strategy a profile strategy runs on.
func registerFor(profile string) string {
	if profile == ProfileSingleLeader {
		return server.SingleLeader
	}
	return server.LWW
}

// registerAnswer is what /register/* answers.
type registerAnswer struct {
	Value  json.RawMessage   `json:"value"`
	TS     int64             `json:"ts"`
	Origin string            `json:"origin"`
	VV     map[string]uint64 `json:"vv"`
	Node   string            `json:"node"`
}

// profileSwaps bounds how often an edit of a whole record reads it again after its swap found
// the record changed at its leader (another edit there came first).
const profileSwaps = 3

// profile carries out set-field and read-profile in the client's layout, on registers.
func (c *client) profile(ctx context.Context, op history.Op) history.Op {
	var set workloads.SetField
	if op.F == "set-field" {
		if err := json.Unmarshal(op.Value, &set); err != nil || set.Field == "" {
			return history.Refused("set-field value is not {\"field\": …, \"value\": …}")
		}
	} else if op.F != "read-profile" {
		return history.Refused("unknown profile op " + op.F)
	}
	if c.layout == ProfileFields {
		return c.profileByField(ctx, op, set)
	}
	for range profileSwaps {
		read := c.registerOp(ctx, "read", op.Key, history.Null)
		if read.Type != history.OK {
			return read
		}
		record := map[string]json.RawMessage{}
		if len(read.Value) > 0 && string(read.Value) != "null" {
			if err := json.Unmarshal(read.Value, &record); err != nil {
				return history.Refused(fmt.Sprintf("profile %s holds no record: %s", op.Key, read.Value))
			}
		}
		if op.F == "read-profile" {
			read.Value = history.Value(record)
			return read
		}
		expected := read.Value
		if len(expected) == 0 {
			expected = history.Null
		}
		record[set.Field] = history.Value(set.Value)
		swapped := c.registerOp(ctx, "cas", op.Key, history.Value([]json.RawMessage{expected, history.Value(record)}))
		if !swapFailed(swapped) {
			return swapped
		}
	}
	return complete(history.Fail, nil, "the record kept changing under the edit")
}

// profileByField is profile for ProfileFields: an edit writes its field's register, a read
// reads every field's.
func (c *client) profileByField(ctx context.Context, op history.Op, set workloads.SetField) history.Op {
	if op.F == "set-field" {
		return c.registerOp(ctx, "write", op.Key+"/"+set.Field, history.Value(set.Value))
	}
	record := map[string]json.RawMessage{}
	var served json.RawMessage
	for _, f := range workloads.ProfileFields {
		read := c.registerOp(ctx, "read", op.Key+"/"+f, history.Null)
		if read.Type != history.OK {
			return read
		}
		if len(read.Value) > 0 && string(read.Value) != "null" {
			record[f] = read.Value
		}
		served = read.MetaField("served_by")
	}
	done := complete(history.OK, history.Value(record), "")
	done.SetMeta("served_by", served)
	return done
}

// claims carries out claim, release and read-owner on a register per name: a claim swaps the
// owner in where there is none, a release swaps null in where the owner is, as a team writes
// "INSERT … if absent" and "DELETE … where owner" against one leader's view.
func (c *client) claims(ctx context.Context, op history.Op) history.Op {
	var done history.Op
	switch op.F {
	case "read-owner":
		return c.registerOp(ctx, "read", op.Key, history.Null)
	case "claim":
		done = c.registerOp(ctx, "cas", op.Key, history.Value([]json.RawMessage{history.Null, op.Value}))
		if swapFailed(done) {
			done.Error = "taken"
		}
	case "release":
		done = c.registerOp(ctx, "cas", op.Key, history.Value([]json.RawMessage{op.Value, history.Null}))
		if swapFailed(done) {
			done.Error = "not held by that owner"
		}
	default:
		return history.Refused("unknown claims op " + op.F)
	}
	return done
}

func (c *client) inventory(ctx context.Context, op history.Op) history.Op {
	var path string
	var body any
	var units int64
	switch op.F {
	case "restock", "buy":
		if err := json.Unmarshal(op.Value, &units); err != nil || units <= 0 {
			return complete(history.Fail, nil, op.F+" value must be a positive number of units")
		}
		if op.F == "restock" {
			path, body = "/inventory/restock", map[string]any{"sku": op.Key, "units": units}
		} else {
			path, body = "/inventory/buy", map[string]any{"sku": op.Key, "qty": units, "req": op.Req}
		}
	case "read-stock":
		path, body = "/inventory/stock", map[string]any{"sku": op.Key}
	case "read-orders":
		path, body = "/inventory/orders", map[string]any{"sku": op.Key}
	default:
		return complete(history.Fail, nil, "unknown inventory op "+op.F)
	}
	var resp struct {
		Order  string          `json:"order"`
		Units  int64           `json:"units"`
		Orders json.RawMessage `json:"orders"`
		Node   string          `json:"node"`
	}
	out := c.post(ctx, path, body, &resp)
	switch {
	case out.ok:
		var v json.RawMessage
		switch op.F {
		case "buy":
			v = history.Value(resp.Order)
		case "read-stock":
			v = history.Value(resp.Units)
		case "read-orders":
			v = resp.Orders
		}
		done := complete(history.OK, v, "")
		done.SetMeta("served_by", resp.Node)
		return done
	case out.precondition:
		return complete(history.Fail, nil, "sold out")
	}
	return unanswered(out, op.F == "read-stock" || op.F == "read-orders")
}

func (c *client) cart(ctx context.Context, op history.Op) history.Op {
	body := map[string]any{"cart": op.Key}
	switch op.F {
	case "add", "remove":
		var item string
		if json.Unmarshal(op.Value, &item) != nil || item == "" {
			return complete(history.Fail, nil, op.F+" value must be an item")
		}
		body["item"] = item
		if ts := op.MetaInt("client_ts"); ts > 0 {
			body["ts"] = ts
		}
	case "read":
	default:
		return complete(history.Fail, nil, "unknown cart op "+op.F)
	}
	var resp struct {
		Items    []string          `json:"items"`
		TS       int64             `json:"ts"`
		Origin   string            `json:"origin"`
		Seq      uint64            `json:"seq"`
		VV       map[string]uint64 `json:"vv"`
		OffsetNS int64             `json:"clock_offset_ns"`
		Strategy string            `json:"strategy"`
		Node     string            `json:"node"`
	}
	out := c.post(ctx, "/cart/"+op.F, body, &resp)
	if !out.ok {
		return unanswered(out, op.F == "read")
	}
	var v json.RawMessage
	if op.F == "read" {
		if resp.Items == nil {
			resp.Items = []string{}
		}
		v = history.Value(resp.Items)
	}
	done := complete(history.OK, v, "")
	done.SetMeta("ts", resp.TS, "origin", resp.Origin, "seq", resp.Seq, "vv", resp.VV, "clock_offset_ns", resp.OffsetNS, "strategy", resp.Strategy, "served_by", resp.Node)
	if r := cartResolution[resp.Strategy]; r != "" {
		done.SetMeta("resolution", r)
	}
	return done
}

// cartResolution is how each cart strategy resolves concurrent versions, in the words of
// HISTORY.md's meta.resolution.
var cartResolution = map[string]string{server.CartLWW: "lww", server.CartMerge: "merge", server.CartORSet: "add-wins"}

// unanswered completes an op the store did not carry out with an answer: fail when it certainly
// did not take effect (the store refused it, or it is a read, which changes nothing), info when
// it may have. This is the one place where the client decides that, so no op records a maybe as
// a no.
func unanswered(out outcome, read bool) history.Op {
	if out.definite || read {
		return history.Refused(out.err) // no comparison was made, nothing was written
	}
	return complete(history.Info, nil, out.err)
}

// complete builds a completion; the harness fills in what it shares with its invoke.
func complete(t history.Type, value json.RawMessage, errMsg string) history.Op {
	return history.Op{Type: t, Value: value, Error: errMsg}
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
func (c *client) post(ctx context.Context, path string, body, out any) outcome {
	b, err := json.Marshal(body)
	if err != nil {
		return outcome{definite: true, err: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+path, bytes.NewReader(b))
	if err != nil {
		return outcome{definite: true, err: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
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

// txn runs a transaction of the list-append or rw-register workload at the client's leader. A
// list-append read of a key never written is the empty list.
func (c *client) txn(ctx context.Context, op history.Op) history.Op {
	var req server.TxnRequest
	if op.F != "txn" || json.Unmarshal(op.Value, &req.Mops) != nil {
		return history.Refused("a transaction's value is a list of micro-ops [f, key, value]")
	}
	readOnly := true
	for _, m := range req.Mops {
		readOnly = readOnly && string(m[0]) == `"r"`
	}
	var resp server.TxnResponse
	out := c.post(ctx, "/txn", req, &resp)
	if !out.ok {
		return unanswered(out, readOnly)
	}
	if len(resp.Mops) != len(req.Mops) {
		return complete(history.Info, nil, fmt.Sprintf("the leader answered %d micro-ops for %d", len(resp.Mops), len(req.Mops)))
	}
	for i := range resp.Mops {
		if c.workload == workloads.ListAppendName && string(resp.Mops[i][0]) == `"r"` && string(resp.Mops[i][2]) == "null" {
			resp.Mops[i][2] = json.RawMessage("[]")
		}
	}
	done := complete(history.OK, history.Value(resp.Mops), "")
	done.SetMeta("served_by", resp.Node)
	return done
}
