// Package reporttest opens crossfire's reports in a real browser from Go tests: Debian's
// Chromium, headless, with a profile of its own and nothing from the network. A page that throws
// or logs an error while it loads has failed to open (Open says what it reported), and
// ReportOpens holds a run folder's report to drawing its timeline. Tests that need Chromium skip,
// with a line saying how to install it, where there is none.
package reporttest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/crossfire-dev/crossfire/runfolder"
)

// FindChromium finds Debian's Chromium (or the browser CROSSFIRE_CHROMIUM names).
func FindChromium() (string, bool) {
	if p := os.Getenv("CROSSFIRE_CHROMIUM"); p != "" {
		return p, true
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// ChromiumPath is FindChromium's browser, or it skips the test.
func ChromiumPath(tb testing.TB) string {
	tb.Helper()
	p, ok := FindChromium()
	if !ok {
		tb.Skip("no Chromium: apt-get install -y chromium (or set CROSSFIRE_CHROMIUM)")
	}
	return p
}

// Browser starts a headless Chromium of its own (fresh profile, nothing from the network) and
// returns a tab's context.
func Browser(tb testing.TB) context.Context {
	tb.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath(tb)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	// The browser lives as long as the test, and no longer than three minutes.
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTime := context.WithTimeout(actx, 3*time.Minute)
	ctx, cancelTab := chromedp.NewContext(ctx)
	tb.Cleanup(func() { cancelTab(); cancelTime(); cancelAlloc() })
	console := &consoleErrors{}
	if err := chromedp.Listen(ctx, console.listen); err != nil {
		tb.Fatalf("starting Chromium: %v", err)
	}
	ctx = context.WithValue(ctx, consoleKey{}, console)
	return ctx
}

// consoleErrors gathers what a page reports as broken: uncaught exceptions and console.error
// calls.
type consoleErrors struct {
	mu   sync.Mutex
	errs []string
}

type consoleKey struct{}

func (c *consoleErrors) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = e.ExceptionDetails.Text
		if ex := e.ExceptionDetails.Exception; ex != nil && ex.Description != "" {
			msg += " " + ex.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError && e.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		msg = "console." + string(e.Type) + ":"
		for _, a := range e.Args {
			if a.Description != "" {
				msg += " " + a.Description
			} else {
				msg += " " + string(a.Value)
			}
		}
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, msg)
}

// take returns the errors gathered since it was last called.
func (c *consoleErrors) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := c.errs
	c.errs = nil
	return errs
}

// Open loads a report from disk and waits until its script has drawn everything. A page that
// throws or logs an error while it loads has failed to open, whatever it drew.
func Open(ctx context.Context, path string) error {
	console, _ := ctx.Value(consoleKey{}).(*consoleErrors)
	if console != nil {
		console.take() // what earlier pages said
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate("file://"+path),
		chromedp.Poll[chromedp.Void](`document.body.dataset.ready === "1" && document.getElementById("throughput").dataset.ready === "1"`,
			chromedp.WithPollingTimeout(90*time.Second)),
	)
	if console != nil {
		if errs := console.take(); len(errs) > 0 {
			return errors.Join(err, fmt.Errorf("%s: the page reported errors: %s", filepath.Base(path), strings.Join(errs, "; ")))
		}
	}
	return err
}

// Eval evaluates an expression in the page and decodes its value.
func Eval[T any](tb testing.TB, ctx context.Context, js string) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tb.Fatalf("%s: %v", js, err)
	}
	return v
}

// ReportOpens opens the report of the run folder dir in the browser of ctx, and fails tb when
// the page reports an error, or when the history has operations and the timeline drew none.
func ReportOpens(tb testing.TB, ctx context.Context, dir string) {
	tb.Helper()
	path, err := filepath.Abs(filepath.Join(dir, runfolder.ReportFile))
	if err != nil {
		tb.Fatal(err)
	}
	if err := Open(ctx, path); err != nil {
		tb.Fatalf("the report of %s: %v", dir, err)
	}
	type drawn struct {
		Drawn int `json:"drawn"`
		Ops   int `json:"ops"`
	}
	d := Eval[drawn](tb, ctx, `({ drawn: +document.getElementById("timeline").dataset.drawn, ops: crossfire.data.start.length })`)
	if d.Ops > 0 && d.Drawn == 0 {
		tb.Fatalf("the report of %s: a timeline of %d ops drew nothing", dir, d.Ops)
	}
}
