package enginecmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/crossfire-dev/crossfire/internal/cli"
	"github.com/crossfire-dev/crossfire/report/serve"
)

func serveCmd(args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("serve", `usage: crossfire serve [flags]

Serves the store on this machine: the runs in a table (test, start, main phase, verdict; newest
first, filterable by verdict), each opening its report and its files. A run without a report gets
one when it is first opened. Ctrl-C stops it.`, stderr)
	store := fs.String("store", "store", "the store directory")
	addr := fs.String("listen", "127.0.0.1:8780", "address to listen on (loopback by default; the store is not for the network)")
	if code := cli.Parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "crossfire serve: unexpected argument %q\n", fs.Arg(0))
		return cli.ExitUsage
	}
	srv, err := serve.NewServer(*store)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire serve: %v\n", err)
		return cli.ExitUsage
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire serve: %v\n", err)
		return cli.ExitEnv
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(stderr, "crossfire serve: warning: listening on %s, reachable from other machines\n", host)
	}
	fmt.Fprintf(stdout, "crossfire serve: the runs in %s at http://%s/ (Ctrl-C stops)\n", *store, ln.Addr())
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := cli.SignalContext()
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "crossfire serve: %v\n", err)
		return cli.ExitEnv
	}
	return cli.ExitValid
}
