package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// The HTTP API. Every body is JSON. Register operations answer 200 with the result, 409 when a
// compare-and-set's comparison failed, and 503 with {"error", "definite"} when the node could not
// do the operation: definite means it certainly did not take effect, otherwise it may have.

// RegisterRequest is the body of /register/read, /register/write and /register/cas.
type RegisterRequest struct {
	Key      string          `json:"key"`
	Value    json.RawMessage `json:"value,omitempty"`    // write
	Expected json.RawMessage `json:"expected,omitempty"` // cas
	New      json.RawMessage `json:"new,omitempty"`      // cas
}

// RegisterResponse is the answer to a register operation.
type RegisterResponse struct {
	Value  json.RawMessage `json:"value"`            // read: the value (null if never written); cas 409: the current value
	TS     int64           `json:"ts,omitempty"`     // the timestamp of the version read or written
	Origin string          `json:"origin,omitempty"` // the leader that wrote that version
	Seq    uint64          `json:"seq,omitempty"`    // its place in that leader's stream
	VV     VV              `json:"vv,omitempty"`     // its version vector
	Node   string          `json:"node"`             // the leader that served the operation
}

// ErrorResponse is the body of every non-200 answer.
type ErrorResponse struct {
	Error    string          `json:"error"`
	Definite bool            `json:"definite"`        // certainly not applied
	Value    json.RawMessage `json:"value,omitempty"` // a failed cas: the current value
}

// ClockRequest sets the node's clock.
type ClockRequest = ClockSetting

// maxBody bounds a request body.
const maxBody = 32 << 20

// Handler is the node's HTTP API.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /register/read", n.register)
	mux.HandleFunc("POST /register/write", n.register)
	mux.HandleFunc("POST /register/cas", n.register)
	mux.HandleFunc("POST /replicate", n.replicate)
	mux.HandleFunc("POST /txn", n.txnRoute)
	n.inventoryRoutes(mux)
	n.cartRoutes(mux)
	mux.HandleFunc("GET /admin/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"id": n.cfg.ID, "strategy": n.cfg.Strategy})
	})
	mux.HandleFunc("GET /admin/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, n.State())
	})
	mux.HandleFunc("POST /admin/clock", func(w http.ResponseWriter, r *http.Request) {
		var c ClockRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&c); err != nil {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: err.Error(), Definite: true})
			return
		}
		n.clock.Set(c)
		if c.FrozenAtNS != 0 {
			n.log.Printf("clock frozen at %s", time.Unix(0, c.FrozenAtNS).UTC().Format(time.RFC3339Nano))
		} else {
			n.log.Printf("clock set: offset %v, drift %d ppm, strobe ±%v every %v",
				time.Duration(c.OffsetNS), c.DriftPPM, time.Duration(c.StrobeNS), time.Duration(c.StrobePeriodNS))
		}
		writeJSON(w, http.StatusOK, c)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (n *Node) register(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: err.Error(), Definite: true})
		return
	}
	local := n.cfg.Strategy == ReadReplicas && r.URL.Path == "/register/read"
	if HasLeader(n.cfg.Strategy) && n.cfg.Leader != n.cfg.ID && !local {
		n.forwardTo(w, r, n.cfg.Peers[n.cfg.Leader], body)
		return
	}
	var req RegisterRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "bad request: " + err.Error(), Definite: true})
		return
	}
	switch r.URL.Path {
	case "/register/read":
		v, _ := n.Read(req.Key)
		writeJSON(w, http.StatusOK, n.response(v))
	case "/register/write":
		if len(req.Value) == 0 {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "write needs a value", Definite: true})
			return
		}
		writeJSON(w, http.StatusOK, n.response(n.Write(req.Key, req.Value)))
	case "/register/cas":
		if len(req.New) == 0 {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "cas needs a new value", Definite: true})
			return
		}
		v, err := n.CAS(req.Key, req.Expected, req.New)
		if errors.Is(err, ErrPrecondition) {
			writeJSON(w, http.StatusConflict, ErrorResponse{Error: err.Error(), Definite: true, Value: nullIfEmpty(v.Value)})
			return
		}
		writeJSON(w, http.StatusOK, n.response(v))
	}
}

func nullIfEmpty(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("null")
	}
	return v
}

func (n *Node) response(v Version) RegisterResponse {
	return RegisterResponse{Value: nullIfEmpty(v.Value), TS: v.TS, Origin: v.Origin, Seq: v.Seq, VV: v.VV, Node: n.cfg.ID}
}

// forwardTo relays a register operation to the single leader. If the request may have reached
// the leader, the outcome is unknown and the answer says so.
func (n *Node) forwardTo(w http.ResponseWriter, r *http.Request, base string, body []byte) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, base+r.URL.Path, bytes.NewReader(body))
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, ErrorResponse{Error: err.Error(), Definite: true})
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.forward.Do(req)
	if err != nil {
		var op *net.OpError
		definite := errors.As(err, &op) && op.Op == "dial"
		writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: "forwarding to leader " + n.cfg.Leader + ": " + err.Error(), Definite: definite})
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: "reading the leader's answer: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(b)
}

func (n *Node) replicate(w http.ResponseWriter, r *http.Request) {
	var req replicateRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: err.Error(), Definite: true})
		return
	}
	writeJSON(w, http.StatusOK, replicateResponse{Applied: n.Apply(req.Origin, req.Entries)})
}
