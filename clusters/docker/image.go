// Package docker is the container cluster every database uses: New starts the leaders a Leader
// describes (image, command, port, readiness, how peers dial, clock file, artifacts) on a
// network made for the run, with the Toxiproxy sidecar in front of them, and gives every fault a
// container can suffer (links cut and slowed through the sidecar's proxies or by firewall inside
// the leaders, SIGKILL and restart, freeze and thaw, off the network and back, clocks through
// libfaketime files) with one state machine. A database's cluster embeds it and adds what only the
// engine knows: how its leaders join, when replication has caught up, where its conflicts are.
//
// Around it: the connection to the Docker engine (testcontainers' own moby client), the labels on
// everything crossfire makes, Clean for what a crashed run left behind, and images built here,
// never pulled: a static Go binary (CGO off) copied into a FROM scratch image, tagged by the
// binary's content hash, or a Debian root filesystem made by debootstrap (DebianImage), each
// built once and reused while what went into it stays the same.
//
// testcontainers' reaper is not used (its image cannot be pulled): every container, network and
// volume carries the label "crossfire" (and "crossfire.run" with the run's id). Only this package
// and the databases' container clusters import testcontainers-go.
package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/moby/moby/client"
)

// Labels on everything crossfire makes in Docker.
const (
	Label     = "crossfire"       // "true" on every container, network, volume and image
	LabelRun  = "crossfire.run"   // the run's id
	LabelHost = "crossfire.host"  // the host of the process that made it
	LabelPID  = "crossfire.owner" // that process's id: while it lives, the run is in progress
)

// RunLabels are the labels of everything one run makes: crossfire's, the run's id, and its
// owner (this process on this host).
func RunLabels(run string) map[string]string {
	host, _ := os.Hostname()
	return map[string]string{Label: "true", LabelRun: run, LabelHost: host, LabelPID: strconv.Itoa(os.Getpid())}
}

// The Toxiproxy sidecar's image: every container cluster routes its links through it.
const (
	ToxiproxyRepo    = "crossfire-toxiproxy"
	ToxiproxyPackage = "github.com/Shopify/toxiproxy/v2/cmd/server"
)

// BuildStatic builds a Go main package as a static Linux binary at out. It needs the Go
// toolchain and crossfire's module (it runs in the current directory, which must be inside the
// checkout). Builds are reproducible (-trimpath, no VCS stamp), so the same sources give the
// same bytes and therefore the same image tag.
func BuildStatic(ctx context.Context, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("docker: building %s (needs the Go toolchain, run inside crossfire's checkout): %v: %s",
			pkg, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// HashFile is a file's SHA-256, in hex.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// EnsureImage makes sure an image holding binary as its entrypoint exists, tagged repo:<the
// first 12 hex digits of the binary's hash>, and returns the tag; built says whether it had to
// be built now.
func EnsureImage(ctx context.Context, cli *client.Client, repo, binary string) (tag string, built bool, err error) {
	sum, err := HashFile(binary)
	if err != nil {
		return "", false, err
	}
	tag = repo + ":" + sum[:12]
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, false, nil
	}
	buildCtx, err := scratchContext(binary)
	if err != nil {
		return "", false, err
	}
	res, err := cli.ImageBuild(ctx, buildCtx, client.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true,
		Labels: map[string]string{Label: "true"},
	})
	if err != nil {
		return "", false, fmt.Errorf("docker: building image %s: %w", tag, err)
	}
	defer res.Body.Close()
	if err := buildErrors(res.Body); err != nil {
		return "", false, fmt.Errorf("docker: building image %s: %w", tag, err)
	}
	return tag, true, nil
}

// scratchContext is a build context: a FROM scratch Dockerfile and the binary as /app.
func scratchContext(binary string) (io.Reader, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	dockerfile := []byte("FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, dockerfile}, {"app", 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// buildErrors reads a build's progress stream and returns the error it reports, if any.
func buildErrors(r io.Reader) error {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<16), 1<<24)
	for s.Scan() {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if json.Unmarshal(s.Bytes(), &msg) == nil && (msg.Error != "" || msg.ErrorDetail.Message != "") {
			return errors.New(strings.TrimSpace(msg.Error + " " + msg.ErrorDetail.Message))
		}
	}
	return s.Err()
}
