package serve

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/report"
	"github.com/crossfire-dev/crossfire/report/internal/fixture"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// storeWithRuns lays out a store: two runs of one test (an invalid one, newer, and a valid one),
// and an unchecked run of another test without a report, plus a latest link, a stray file, and a
// link that leads out of the store.
func storeWithRuns(t *testing.T) (store, outside string) {
	t.Helper()
	store = t.TempDir()
	outside = t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("not for the browser"), 0o644); err != nil {
		t.Fatal(err)
	}
	place := func(test, stamp, verdict string) string {
		src := fixture.Run(t, 3)
		dst := filepath.Join(store, test, stamp)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(src, dst); err != nil {
			t.Fatal(err)
		}
		switch verdict {
		case "valid":
			fixture.WriteJSON(t, filepath.Join(dst, runfolder.ResultsFile), map[string]any{"valid": true, "stats": map[string]any{"ops": 21}})
		case "none":
			os.Remove(filepath.Join(dst, runfolder.ResultsFile))
		}
		return dst
	}
	place("register-lww", "20261101T100000.000Z", "valid")
	newest := place("register-lww", "20261102T100000.000Z", "invalid")
	place("cart-orset", "20261101T120000.000Z", "none")
	if _, err := report.Write(newest); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("20261102T100000.000Z", filepath.Join(store, "register-lww", "latest")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "matrix.md"), []byte("table"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(store, "register-lww", "escape")); err != nil {
		t.Fatal(err)
	}
	return store, outside
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// raw sends a request line as it is, so that .. reaches the server uncleaned.
func raw(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServe(t *testing.T) {
	store, _ := storeWithRuns(t)
	srv, err := NewServer(store)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()

	t.Run("listing, newest first", func(t *testing.T) {
		code, body, _ := get(t, ts.URL+"/")
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		a := strings.Index(body, `href="/runs/register-lww/20261102T100000.000Z/report.html"`)
		b := strings.Index(body, `href="/runs/cart-orset/20261101T120000.000Z/report.html"`)
		c := strings.Index(body, `href="/runs/register-lww/20261101T100000.000Z/report.html"`)
		if a < 0 || b < 0 || c < 0 || !(a < b && b < c) {
			t.Fatalf("runs missing or out of order (%d %d %d):\n%s", a, b, c, body)
		}
		if strings.Count(body, `<tr class="run"`) != 3 {
			t.Errorf("the latest link or the stray file was listed as a run:\n%s", body)
		}
		// Runs of one test tell themselves apart: database and options, cluster, seed, anomalies.
		for _, want := range []string{`data-verdict="invalid"`, `data-verdict="valid"`, `data-verdict="not checked"`, "2026-11-02 10:00:00 UTC", "<td>1s</td>",
			"<td>regionkv: strategy lww</td><td>local</td><td>5</td>", `<td class="v-invalid">invalid</td><td>1</td>`} {
			if !strings.Contains(body, want) {
				t.Errorf("the listing lacks %q", want)
			}
		}
	})
	t.Run("filtered by verdict", func(t *testing.T) {
		_, body, _ := get(t, ts.URL+"/?verdict=valid")
		if strings.Count(body, `<tr class="run"`) != 1 || !strings.Contains(body, "20261101T100000.000Z") {
			t.Errorf("filter valid:\n%s", body)
		}
		_, body, _ = get(t, ts.URL+"/?verdict=not+checked")
		if strings.Count(body, `<tr class="run"`) != 1 || !strings.Contains(body, "cart-orset") {
			t.Errorf("filter not checked:\n%s", body)
		}
		if code, body, _ := get(t, ts.URL+"/?verdict=maybe"); code != 400 || !strings.Contains(body, "valid: invalid, unknown, valid, not checked") {
			t.Errorf("an unknown verdict: %d %s", code, body)
		}
	})
	t.Run("a report", func(t *testing.T) {
		code, body, h := get(t, ts.URL+"/runs/register-lww/latest/report.html")
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, `<canvas id="timeline"`) {
			t.Fatalf("status %d, type %s", code, h.Get("Content-Type"))
		}
		// A run without a report gets one when it is opened.
		code, body, _ = get(t, ts.URL+"/runs/cart-orset/20261101T120000.000Z/report.html")
		if code != 200 || !strings.Contains(body, "not checked") {
			t.Fatalf("made on demand: status %d", code)
		}
		if _, err := os.Stat(filepath.Join(store, "cart-orset", "20261101T120000.000Z", report.File)); err != nil {
			t.Errorf("the report made on demand was not kept: %v", err)
		}
	})
	t.Run("a run's files", func(t *testing.T) {
		code, body, _ := get(t, ts.URL+"/runs/register-lww/20261102T100000.000Z/")
		if code != 200 || !strings.Contains(body, `href="history.jsonl"`) || !strings.Contains(body, `href="nodes/"`) {
			t.Fatalf("folder: %d\n%s", code, body)
		}
		code, body, h := get(t, ts.URL+"/runs/register-lww/20261102T100000.000Z/nodes/n1/node.log")
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || !strings.Contains(body, "<svg") {
			t.Fatalf("a node log is served as text: %d %s", code, h.Get("Content-Type"))
		}
	})
	t.Run("a missing run", func(t *testing.T) {
		for _, p := range []string{"/runs/register-lww/20990101T000000.000Z/report.html", "/runs/nothing/", "/elsewhere"} {
			if code, _, _ := get(t, ts.URL+p); code != 404 {
				t.Errorf("%s: status %d, want 404", p, code)
			}
		}
	})
	t.Run("a path outside the store", func(t *testing.T) {
		addr := strings.TrimPrefix(ts.URL, "http://")
		for _, target := range []string{
			"/runs/../../../../etc/passwd",
			"/runs/register-lww/../../secret.txt",
			"/runs/%2e%2e/%2e%2e/etc/passwd",
			"/runs/register-lww/escape/secret.txt", // a link inside the store that leads out
		} {
			code, body := raw(t, addr, target)
			if code != 403 || strings.Contains(body, "not for the browser") || strings.Contains(body, "root:") {
				t.Errorf("%s: status %d: %.80s", target, code, body)
			}
		}
	})
	t.Run("read only", func(t *testing.T) {
		resp, err := http.Post(ts.URL+"/runs/register-lww/latest/report.html", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST: status %d", resp.StatusCode)
		}
	})
}

func TestServeNeedsAStore(t *testing.T) {
	if _, err := NewServer(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing store was accepted")
	}
}
