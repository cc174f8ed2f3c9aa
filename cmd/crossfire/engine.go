package main

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EngineName is crossfire-engine's file name.
const EngineName = "crossfire-engine"

// Module is crossfire's module path, by which a checkout of it is known.
const Module = "github.com/crossfire-dev/crossfire"

// EngineEnv names a crossfire-engine to use, ahead of any other.
const EngineEnv = "CROSSFIRE_ENGINE"

// findEngine finds crossfire-engine: the file CROSSFIRE_ENGINE names; else the one beside this
// binary (go install ./cmd/... puts them together); else, in a checkout of crossfire (go run
// ./cmd/crossfire …), one built from that checkout into the user's cache (go build does nothing
// when it is up to date; the first build is said on w); else one on PATH.
func findEngine(w io.Writer) (string, error) {
	if p := os.Getenv(EngineEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EngineEnv, p, err)
		}
		return p, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), EngineName)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	// In a checkout, that checkout's engine: one installed earlier on PATH may be older than
	// the code being run.
	if wd, err := os.Getwd(); err == nil {
		if root, ok := moduleRoot(wd); ok {
			return buildEngine(root, w)
		}
	}
	if p, err := exec.LookPath(EngineName); err == nil {
		return p, nil
	}
	return "", notFound(errors.New("not beside this binary, not on PATH, and the working directory is not in a checkout of crossfire to build it from"))
}

func notFound(why error) error {
	return fmt.Errorf("this command is carried out by %s, which starts clusters (it links the databases and the container runtime; check and report do without): %v. Install both with `go install ./cmd/...` in a checkout, or set %s", EngineName, why, EngineEnv)
}

// moduleRoot finds, from dir upwards, the folder whose go.mod declares crossfire's module.
func moduleRoot(dir string) (string, bool) {
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
					f.Close()
					if fields[1] == Module {
						return dir, true
					}
					return "", false // another module: not a checkout of crossfire
				}
			}
			f.Close()
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// buildEngine builds crossfire-engine from the checkout at root into the user's cache, one
// binary per checkout.
func buildEngine(root string, w io.Writer) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", notFound(fmt.Errorf("the checkout at %s could build it, but there is no go command on PATH", root))
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	h := fnv.New64a()
	h.Write([]byte(root))
	dir := filepath.Join(cache, "crossfire", fmt.Sprintf("engine-%016x", h.Sum64()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", notFound(err)
	}
	out := filepath.Join(dir, EngineName)
	if _, err := os.Stat(out); err != nil {
		fmt.Fprintf(w, "crossfire: building %s from %s into %s (once; go install ./cmd/... avoids it)\n", EngineName, root, dir)
	}
	cmd := exec.Command(goTool, "build", "-o", out, "./cmd/"+EngineName)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, w, w
	if err := cmd.Run(); err != nil {
		return "", notFound(fmt.Errorf("building it from %s: %v", root, err))
	}
	return out, nil
}
