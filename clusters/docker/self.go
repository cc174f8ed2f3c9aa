package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/moby/moby/client"
	"github.com/rs/zerolog"
)

// RoleEnv names the part a crossfire binary plays in a container. Where there is no Go toolchain
// and no checkout of crossfire to build the images' binaries from (crossfire installed, run from
// any folder), an image is made of the running binary itself, which every binary linking this
// package can be: started with RoleEnv set to a registered role, it plays that role and exits
// before its own main (or the testing framework) runs.
const RoleEnv = "CROSSFIRE_CONTAINER_ROLE"

// ToxiproxyRole is the Toxiproxy sidecar's role.
const ToxiproxyRole = "toxiproxy"

var roles = map[string]func(args []string) int{ToxiproxyRole: runToxiproxy}

// RegisterRole lets a package's binaries play a part of its own in a container (regionkv's
// node); call it from an init function, before this package's own runs the role.
func RegisterRole(name string, run func(args []string) int) { roles[name] = run }

// PlayRole runs the role RoleEnv names, if it names one, and exits with its status. The package
// calls it from its init; a package that registers a role calls it after registering.
func PlayRole() {
	if run, ok := roles[os.Getenv(RoleEnv)]; ok {
		os.Exit(run(os.Args[1:]))
	}
}

func init() { PlayRole() }

// runToxiproxy is Toxiproxy's server, as its own command runs it: -host and -port for its API.
func runToxiproxy(args []string) int {
	host, port := "0.0.0.0", SidecarAPIPort
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "-host":
			host = args[i+1]
		case "-port":
			port = args[i+1]
		}
	}
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.New(os.Stderr).With().Timestamp().Logger())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		_ = srv.Shutdown()
	}()
	if err := srv.Listen(net.JoinHostPort(host, port)); err != nil && !errors.Is(err, net.ErrClosed) {
		fmt.Fprintln(os.Stderr, "toxiproxy:", err)
		return 1
	}
	return 0
}

// CanBuild says whether Go binaries can be built here: a Go toolchain, in a checkout of
// crossfire's module.
func CanBuild(ctx context.Context) bool {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return false
	}
	b, err := os.ReadFile(strings.TrimSpace(string(out)))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return f[1] == Module
		}
	}
	return false
}

// Module is crossfire's module path.
const Module = "github.com/crossfire-dev/crossfire"

// SelfImage makes sure an image of the running binary playing role exists (tagged repo:<a hash
// of the binary, the libraries it needs and the role>), and returns its tag. A binary linked
// against the C library takes its dynamic loader and libraries along, from where this machine
// has them.
func SelfImage(ctx context.Context, cli *client.Client, repo, role string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	files, err := withLibraries(exe)
	if err != nil {
		return "", fmt.Errorf("docker: the libraries of %s: %w", exe, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "role %s\n", role)
	for _, f := range files {
		fmt.Fprintf(h, "%s %d\n", f.name, len(f.data))
		h.Write(f.data)
	}
	tag := repo + ":self-" + hex.EncodeToString(h.Sum(nil))[:12]
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	var dockerfile strings.Builder
	dockerfile.WriteString("FROM scratch\nCOPY root/ /\n")
	fmt.Fprintf(&dockerfile, "ENV %s=%s GODEBUG=netdns=go\nENTRYPOINT [\"/app\"]\n", RoleEnv, role)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := write("Dockerfile", 0o644, []byte(dockerfile.String())); err != nil {
		return "", err
	}
	for _, f := range files {
		if err := write("root"+f.name, 0o755, f.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true,
		Labels: map[string]string{Label: "true"}})
	if err != nil {
		return "", fmt.Errorf("docker: building image %s: %w", tag, err)
	}
	defer res.Body.Close()
	if err := buildErrors(res.Body); err != nil {
		return "", fmt.Errorf("docker: building image %s: %w", tag, err)
	}
	return tag, nil
}

type imageFile struct {
	name string // its path in the image
	data []byte
}

// libraryDirs are where a dynamic binary's libraries are looked for, as the loader would.
var libraryDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// withLibraries is the binary as /app, and, when it is dynamically linked, its loader and every
// library it needs (and they need), each at the path the loader finds it.
func withLibraries(exe string) ([]imageFile, error) {
	data, err := os.ReadFile(exe)
	if err != nil {
		return nil, err
	}
	files := []imageFile{{name: "/app", data: data}}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return nil, err
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if interp == "" {
		return files, nil // static: the binary alone
	}
	seen := map[string]bool{}
	add := func(path string) ([]byte, error) {
		if seen[path] {
			return nil, nil
		}
		seen[path] = true
		b, err := os.ReadFile(path) // through any symlink: the file itself, at the path asked for
		if err != nil {
			return nil, err
		}
		files = append(files, imageFile{name: path, data: b})
		return b, nil
	}
	if _, err := add(interp); err != nil {
		return nil, err
	}
	queue := []*elf.File{f}
	for len(queue) > 0 {
		libs, err := queue[0].ImportedLibraries()
		queue = queue[1:]
		if err != nil {
			return nil, err
		}
		for _, lib := range libs {
			i := slices.IndexFunc(libraryDirs, func(d string) bool { _, err := os.Stat(filepath.Join(d, lib)); return err == nil })
			if i < 0 {
				return nil, fmt.Errorf("%s not found in %s", lib, strings.Join(libraryDirs, ", "))
			}
			b, err := add(filepath.Join(libraryDirs[i], lib))
			if err != nil {
				return nil, err
			}
			if b != nil {
				lf, err := elf.NewFile(bytes.NewReader(b))
				if err != nil {
					return nil, err
				}
				queue = append(queue, lf)
			}
		}
	}
	return files, nil
}
