package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// The client side of the admin protocol: what regionkv's clusters call on a node's admin URL,
// past every fault, to know it is up, to read how far replication has come, and to set the
// faults that live inside the node (its clock, duplicated replication).

// adminClient is for the harness's own calls to nodes; every call also has its ctx.
var adminClient = &http.Client{Timeout: 2 * time.Second}

// Healthy reports whether the node at adminURL answers its health check.
func Healthy(ctx context.Context, adminURL string) error {
	return adminCall(ctx, http.MethodGet, adminURL+"/admin/health", nil, nil)
}

// GetState reads a node's state.
func GetState(ctx context.Context, adminURL string) (State, error) {
	var st State
	err := adminCall(ctx, http.MethodGet, adminURL+"/admin/state", nil, &st)
	return st, err
}

// PutClock sets a node's clock.
func PutClock(ctx context.Context, adminURL string, s ClockSetting) error {
	body, _ := json.Marshal(s)
	return adminCall(ctx, http.MethodPost, adminURL+"/admin/clock", body, nil)
}

// PutFaults switches a node's own faults.
func PutFaults(ctx context.Context, adminURL string, f FaultsRequest) error {
	body, _ := json.Marshal(f)
	return adminCall(ctx, http.MethodPost, adminURL+"/admin/faults", body, nil)
}

// RestoreFaults gives a node the faults it is to have in force, its clock setting and
// duplicated replication, after a time when it could not be told them: a restart (they live in
// its memory, so a restart loses them), or a stretch when it was frozen or unreachable while
// they changed. Both are sent, the defaults too, so a fault lifted meanwhile is lifted there.
func RestoreFaults(ctx context.Context, adminURL string, clock ClockSetting, duplicate bool) error {
	return errors.Join(PutFaults(ctx, adminURL, FaultsRequest{DuplicateReplication: duplicate}), PutClock(ctx, adminURL, clock))
}

// Behind says which node has not applied every entry that every origin wrote, or "" when
// replication has caught up everywhere.
func Behind(states []State) string {
	own := map[string]uint64{}
	for _, st := range states {
		own[st.ID] = st.Applied[st.ID]
	}
	origins := make([]string, 0, len(own))
	for o := range own {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	for _, st := range states {
		for _, origin := range origins {
			if n := own[origin]; st.Applied[origin] != n {
				return fmt.Sprintf("%s has applied %d of the %d entries %s wrote", st.ID, st.Applied[origin], n, origin)
			}
		}
	}
	return ""
}

// SettleTime is how long the nodes' progress must stay still, after replication has caught up,
// before the cluster counts as quiet: a leader that was frozen may still be working through
// requests that queued up meanwhile (their clients long gone), and final reads taken then would
// race them.
const SettleTime = 500 * time.Millisecond

// AwaitReplicated polls the nodes' states (nodes gives their admin URLs, which may move as
// containers restart) until replication has caught up everywhere and stayed so, with no node's
// progress moving, for SettleTime, and returns nil; or, when ctx ends first, an error that says
// what was still behind.
func AwaitReplicated(ctx context.Context, nodes func() []string) error {
	var quietSince time.Time
	var quietMarks string
	why := "no node's state was read"
	for {
		urls := nodes()
		states := make([]State, 0, len(urls))
		for _, u := range urls {
			st, err := GetState(ctx, u)
			if err != nil {
				why = fmt.Sprintf("a node's state could not be read: %v", err)
				break
			}
			states = append(states, st)
		}
		if len(states) == len(urls) {
			if why = Behind(states); why == "" {
				marks := fmt.Sprint(states[0].Applied)
				switch {
				case marks != quietMarks:
					quietMarks, quietSince = marks, time.Now()
				case time.Since(quietSince) >= SettleTime:
					return nil
				}
				why = "replication had caught up but the nodes were still busy"
			} else {
				quietMarks = ""
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replication had not caught up: %s", why)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func adminCall(ctx context.Context, method, url string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := adminClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
