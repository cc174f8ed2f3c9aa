package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// TxnSpace is the Entry space of transactions over many keys (the list-append and rw-register
// workloads).
const TxnSpace = "txn"

// A transaction runs whole at the leader that takes it, under the node's lock: its reads see
// that leader's state and its own writes, and its writes become one entry of the leader's
// stream, applied whole wherever it arrives. A key of either workload is a register whose value
// is the key's whole state (a list, for list-append), so what replication does to it is what it
// does to registers: with lww, concurrent versions of a key written at two leaders are
// siblings, reads show the newest (last writer wins, the losing transaction's write gone); with
// single-leader, every transaction runs at the one leader (the strict serializable control);
// with read-replicas, a transaction that writes runs at the leader and one that only reads runs
// at the leader the client asked, on what replication has brought it.

// TxnOp is a transaction's writes, as its entry carries them: each key's new version.
type TxnOp struct {
	Writes []TxnWrite `json:"writes"`
}

// TxnWrite is one key's version written by a transaction.
type TxnWrite struct {
	Key     string  `json:"key"`
	Version Version `json:"version"`
}

// TxnRequest is the body of /txn: the micro-ops, each [f, key, value] with f append, w or r.
type TxnRequest struct {
	Mops [][3]json.RawMessage `json:"mops"`
}

// TxnResponse is a committed transaction: its micro-ops with the reads filled in (a key never
// written reads null), and the leader that ran it.
type TxnResponse struct {
	Mops [][3]json.RawMessage `json:"mops"`
	Node string               `json:"node"`
}

// Txn runs a transaction at this node. A read of a list key returns the list; of a register
// key, its value; of a key never written, null.
func (n *Node) Txn(mops [][3]json.RawMessage) ([][3]json.RawMessage, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	view := map[string]json.RawMessage{}
	var order []string
	current := func(k string) json.RawMessage {
		if v, ok := view[k]; ok {
			return v
		}
		v, _ := n.txns.read(k)
		return v.Value
	}
	out := make([][3]json.RawMessage, len(mops))
	for i, m := range mops {
		var f, k string
		if json.Unmarshal(m[0], &f) != nil {
			return nil, fmt.Errorf("micro-op %d: its function is not a string", i)
		}
		if json.Unmarshal(m[1], &k) != nil {
			k = string(m[1]) // a key given as a number
		}
		out[i] = m
		switch f {
		case "r":
			out[i][2] = nullIfEmpty(current(k))
		case "append":
			var list []json.RawMessage
			if cur := current(k); len(cur) > 0 && string(cur) != "null" {
				if err := json.Unmarshal(cur, &list); err != nil {
					return nil, fmt.Errorf("micro-op %d: key %s holds no list", i, k)
				}
			}
			b, _ := json.Marshal(append(list, m[2]))
			if _, ok := view[k]; !ok {
				order = append(order, k)
			}
			view[k] = b
		case "w":
			if _, ok := view[k]; !ok {
				order = append(order, k)
			}
			view[k] = m[2]
		default:
			return nil, fmt.Errorf("micro-op %d: unknown function %q (append, w or r)", i, f)
		}
	}
	if len(order) == 0 {
		return out, nil
	}
	seq := n.streams.ownLen() + 1
	ts := n.clock.Now().UnixNano()
	op := &TxnOp{}
	for _, k := range order {
		op.Writes = append(op.Writes, TxnWrite{Key: k, Version: n.txns.next(k, n.cfg.ID, seq, view[k], ts)})
	}
	n.appendOwnLocked(Entry{Space: TxnSpace, Version: Version{TS: ts}, Txn: op})
	return out, nil
}

// applyTxn applies a transaction's entry: every key's version, and the conflicts it revealed.
func (n *Node) applyTxn(e Entry) []*Conflict {
	if e.Txn == nil {
		return nil
	}
	var out []*Conflict
	for _, w := range e.Txn.Writes {
		concurrent, ok := n.txns.apply(w.Key, w.Version)
		if !ok || len(concurrent) == 0 {
			continue
		}
		winner, _ := n.txns.read(w.Key)
		out = append(out, &Conflict{Node: n.cfg.ID, Key: TxnSpace + ":" + w.Key, Strategy: n.cfg.Strategy,
			Local: concurrent, Incoming: w.Version, Winner: winner})
	}
	return out
}

func (n *Node) txnRoute(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: err.Error(), Definite: true})
		return
	}
	var req TxnRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "bad request: " + err.Error(), Definite: true})
		return
	}
	readOnly := true
	for _, m := range req.Mops {
		readOnly = readOnly && string(m[0]) == `"r"`
	}
	local := n.cfg.Strategy == ReadReplicas && readOnly
	if HasLeader(n.cfg.Strategy) && n.cfg.Leader != n.cfg.ID && !local {
		n.forwardTo(w, r, n.cfg.Peers[n.cfg.Leader], body)
		return
	}
	mops, err := n.Txn(req.Mops)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: err.Error(), Definite: true})
		return
	}
	writeJSON(w, http.StatusOK, TxnResponse{Mops: mops, Node: n.cfg.ID})
}
