package server

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// peerFlags collects repeated --peer id=url flags.
type peerFlags map[string]string

func (p peerFlags) String() string { return fmt.Sprint(map[string]string(p)) }
func (p peerFlags) Set(s string) error {
	id, url, ok := strings.Cut(s, "=")
	if !ok || id == "" || url == "" {
		return fmt.Errorf("want id=url, got %q", s)
	}
	p[id] = strings.TrimSuffix(url, "/")
	return nil
}

// Main runs a node from command-line arguments until SIGTERM or SIGINT, and returns the process
// exit code. With --parent-pid it also exits when that process is gone, so a harness that dies
// without cleaning up leaves no node behind.
func Main(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("regionkv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := Config{Peers: peerFlags{}}
	fs.StringVar(&cfg.ID, "id", "", "this node's id (n1, n2, n3 …)")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:0", "address of the HTTP API")
	fs.Var(peerFlags(cfg.Peers), "peer", "a peer as id=url (repeat for each peer)")
	fs.StringVar(&cfg.DataDir, "data", "", "data directory (write-ahead log, conflict log)")
	fs.StringVar(&cfg.Strategy, "strategy", LWW, "register strategy: "+strings.Join(RegisterStrategies, ", "))
	fs.StringVar(&cfg.Leader, "leader", "", "with single-leader: the leader's id")
	fs.StringVar(&cfg.Stock, "stock", PNCounter, "stock strategy: "+strings.Join(StockStrategies, ", "))
	fs.StringVar(&cfg.Orders, "orders", Naive, "order strategy: "+strings.Join(OrderStrategies, ", "))
	fs.StringVar(&cfg.Cart, "cart", CartLWW, "cart strategy: "+strings.Join(CartStrategies, ", "))
	listenFD := fs.Int("listen-fd", 0, "serve on this inherited listening socket instead of --listen (0: none)")
	parent := fs.Int("parent-pid", 0, "exit when this process is gone (0: do not watch)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: regionkv --id n1 --data DIR [--listen ADDR] [--peer n2=http://…]… [--strategy lww|single-leader] [--leader n1] [--stock pncounter|escrow] [--orders naive|dedup] [--cart lww|merge|orset]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.ID == "" || cfg.DataDir == "" {
		fs.Usage()
		return 2
	}
	node, err := Open(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer node.Close()
	var ln net.Listener
	if *listenFD > 0 {
		f := os.NewFile(uintptr(*listenFD), "listener")
		ln, err = net.FileListener(f)
		f.Close()
	} else {
		ln, err = net.Listen("tcp", cfg.Listen)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	node.log.Printf("listening on %s", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *parent > 0 {
		go func() {
			for ctx.Err() == nil {
				time.Sleep(250 * time.Millisecond)
				if os.Getppid() != *parent {
					node.log.Printf("parent %d is gone; exiting", *parent)
					stop()
				}
			}
		}()
	}
	if err := node.Serve(ctx, ln); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
