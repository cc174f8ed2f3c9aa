package docker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/moby/client"
)

// DebianImage is an image made from Debian's own packages, for a database that ships as them
// (a database server packaged by Debian): a root filesystem that debootstrap builds from a mirror, a setup script
// run inside it, imported into Docker. Nothing is pulled from a registry.
type DebianImage struct {
	Repo     string   // the image's name; its tag is a hash of everything below
	Suite    string   // "bookworm"
	Mirror   string   // "http://deb.debian.org/debian"
	Packages []string // installed on top of the minimal base
	Setup    string   // a shell script run in the root filesystem (chroot) once the packages are in
	Changes  []string // Dockerfile instructions applied on import: ENV, USER, CMD …
}

// DebianMirror is the Debian mirror images are made from: CROSSFIRE_DEBIAN_MIRROR, or Debian's
// own.
func DebianMirror() string {
	if m := os.Getenv("CROSSFIRE_DEBIAN_MIRROR"); m != "" {
		return m
	}
	return "http://deb.debian.org/debian"
}

// recipeVersion changes when the way images are made changes, so that their tags do too.
const recipeVersion = "debian-1"

// Tag is the image's name and tag: the tag is a hash of what goes into it.
func (d DebianImage) Tag() string {
	pkgs := append([]string(nil), d.Packages...)
	sort.Strings(pkgs)
	h := sha256.New()
	for _, part := range append([]string{recipeVersion, d.Suite, d.Mirror, strings.Join(pkgs, ","), d.Setup}, d.Changes...) {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return d.Repo + ":" + hex.EncodeToString(h.Sum(nil))[:12]
}

// ErrMissing is a prerequisite of building an image that this machine lacks; its message says
// what to install.
var ErrMissing = errors.New("missing prerequisite")

// Prerequisites says what building d here would lack: debootstrap, and root (debootstrap makes
// device nodes and changes owners). nil when nothing is missing.
func (d DebianImage) Prerequisites() error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return fmt.Errorf("%w: building the %s image needs debootstrap (apt-get install -y debootstrap)", ErrMissing, d.Repo)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: building the %s image runs debootstrap, which needs root (run once as root; the image is reused after)", ErrMissing, d.Repo)
	}
	return nil
}

// EnginePrerequisites says, in one line wrapping ErrMissing, what this machine lacks to run an
// engine in containers from d: a Docker engine, and while d is not built yet, what building it
// needs. nil when nothing is missing.
func EnginePrerequisites(ctx context.Context, engine string, d DebianImage) error {
	cli, err := Client(ctx)
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return fmt.Errorf("%w: %s runs in containers and no Docker engine answers (%s): install and start Docker", ErrMissing, engine, msg)
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, d.Tag()); err == nil {
		return nil
	}
	return d.Prerequisites()
}

// EnsureDebianImage returns d's tag, building and importing the image first when Docker does
// not have it yet (built reports whether it did). log, when not nil, gets a line per step: a
// cold build downloads and unpacks a few hundred megabytes.
func EnsureDebianImage(ctx context.Context, cli *client.Client, d DebianImage, log io.Writer) (tag string, built bool, err error) {
	tag = d.Tag()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, false, nil
	}
	if err := d.Prerequisites(); err != nil {
		return "", false, err
	}
	say := func(format string, args ...any) {
		if log != nil {
			fmt.Fprintf(log, "crossfire: image %s: "+format+"\n", append([]any{tag}, args...)...)
		}
	}
	dir, err := os.MkdirTemp("", "crossfire-rootfs-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "root")

	say("debootstrap %s from %s with %s (a few minutes the first time)", d.Suite, d.Mirror, strings.Join(d.Packages, ", "))
	args := []string{"--variant=minbase"}
	if len(d.Packages) > 0 {
		args = append(args, "--include="+strings.Join(d.Packages, ","))
	}
	args = append(args, d.Suite, root, d.Mirror)
	if err := run(ctx, "debootstrap", args...); err != nil {
		return "", false, fmt.Errorf("docker: building %s: %w", tag, err)
	}
	if d.Setup != "" {
		say("setting up")
		if err := run(ctx, "chroot", root, "/bin/sh", "-euc", d.Setup); err != nil {
			return "", false, fmt.Errorf("docker: setting up %s: %w", tag, err)
		}
	}
	say("importing into Docker")
	tarCmd := exec.CommandContext(ctx, "tar", "-C", root, "--numeric-owner", "-c", ".")
	tarOut, err := tarCmd.StdoutPipe()
	if err != nil {
		return "", false, err
	}
	var tarErr bytes.Buffer
	tarCmd.Stderr = &tarErr
	if err := tarCmd.Start(); err != nil {
		return "", false, fmt.Errorf("docker: packing %s: %w", tag, err)
	}
	changes := append([]string{"LABEL " + Label + "=true"}, d.Changes...)
	res, err := cli.ImageImport(ctx, client.ImageImportSource{Source: tarOut, SourceName: "-"}, tag, client.ImageImportOptions{Changes: changes})
	if err != nil {
		_ = tarCmd.Process.Kill()
		_ = tarCmd.Wait()
		return "", false, fmt.Errorf("docker: importing %s: %w", tag, err)
	}
	answer, _ := io.ReadAll(res)
	res.Close()
	if err := tarCmd.Wait(); err != nil {
		return "", false, fmt.Errorf("docker: packing %s: %w: %s", tag, err, bytes.TrimSpace(tarErr.Bytes()))
	}
	if err := buildErrors(bytes.NewReader(answer)); err != nil {
		return "", false, fmt.Errorf("docker: importing %s: %w", tag, err)
	}
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		return "", false, fmt.Errorf("docker: importing %s: the image is not there afterwards: %w", tag, err)
	}
	say("built")
	return tag, true, nil
}

// run runs a command, and on failure says how it ended with the last lines it printed.
func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		return fmt.Errorf("%s: %w: %s", name, err, strings.Join(lines[max(0, len(lines)-5):], " | "))
	}
	return nil
}
