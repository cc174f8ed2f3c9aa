package pglogical

import (
	"fmt"
	"io"

	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/crossfire-dev/crossfire/clusters/docker"
)

// TestImageRunsPostgresWithPglogical builds the image (or finds it), then starts a PostgreSQL
// from it that loads pglogical and libfaketime, and asks it for the extension.
func TestImageRunsPostgresWithPglogical(t *testing.T) {
	cli, tag := imageOrSkip(t)
	// Found, not built, the second time.
	again, built, err := docker.EnsureDebianImage(t.Context(), cli, Image(), nil)
	require.NoError(t, err)
	assert.False(t, built)
	assert.Equal(t, tag, again)

	script := `set -e
initdb -D /data/pg -U postgres --auth=trust >/dev/null
echo "+0" > /faketime/clock
LD_PRELOAD=` + docker.FaketimeLib + ` FAKETIME_TIMESTAMP_FILE=/faketime/clock FAKETIME_DONT_FAKE_MONOTONIC=1 \
  postgres -D /data/pg -c listen_addresses='' -c wal_level=logical -c shared_preload_libraries=pglogical -c track_commit_timestamp=on &
for i in $(seq 1 100); do pg_isready -q -h /run/postgresql && break; sleep 0.2; done
psql -h /run/postgresql -U postgres -Atc "CREATE EXTENSION pglogical; SELECT extversion FROM pg_extension WHERE extname = 'pglogical'; SHOW track_commit_timestamp;"
echo done
`
	c, err := testcontainers.GenericContainer(t.Context(), testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:      tag,
			Entrypoint: []string{"/bin/sh", "-c", script},
			Labels:     docker.RunLabels(fmt.Sprintf("test-%d", time.Now().UnixNano())),
			WaitingFor: wait.ForLog("done").WithStartupTimeout(2 * time.Minute),
		},
		Started: true,
	})
	if c != nil {
		t.Cleanup(func() { _ = testcontainers.TerminateContainer(c) })
	}
	require.NoError(t, err)
	logs, err := c.Logs(t.Context())
	require.NoError(t, err)
	out, _ := io.ReadAll(logs)
	assert.Contains(t, string(out), "2.4.2")
	assert.Contains(t, string(out), "\non\n")
}

// TestMissingPrerequisitesSayWhatToInstall: without debootstrap, building says to install it.
func TestMissingPrerequisitesSayWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := Image().Prerequisites()
	require.ErrorIs(t, err, docker.ErrMissing)
	assert.Contains(t, err.Error(), "apt-get install -y debootstrap")
	assert.False(t, strings.Contains(err.Error(), "\n"), "one line")
}

// TestTagIsAHashOfWhatGoesIn: another package, another tag; the same recipe, the same tag.
func TestTagIsAHashOfWhatGoesIn(t *testing.T) {
	a, b := Image(), Image()
	assert.Equal(t, a.Tag(), b.Tag())
	b.Packages = append(b.Packages, "vim-tiny")
	assert.NotEqual(t, a.Tag(), b.Tag())
	assert.True(t, strings.HasPrefix(a.Tag(), Repo+":"))
	t.Setenv("CROSSFIRE_DEBIAN_MIRROR", "http://mirror.example/debian")
	assert.NotEqual(t, a.Tag(), Image().Tag())
}

// imageOrSkip returns a Docker client and the image's tag, building the image when it is not
// there yet, or skips the test with a one-line reason where neither Docker nor a build can be had.
func imageOrSkip(t *testing.T) (*client.Client, string) {
	t.Helper()
	cli, err := docker.Client(t.Context())
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	if _, err := cli.ImageInspect(t.Context(), Image().Tag()); err != nil {
		if err := Image().Prerequisites(); err != nil {
			t.Skipf("the image is not built and cannot be here: %v", err)
		}
	}
	tag, err := EnsureImage(t.Context(), cli, testLog{t})
	require.NoError(t, err)
	return cli, tag
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// BenchmarkImage measures the pglogical image: warm (Docker has it: one inspect) and cold (it is
// removed first, then debootstrapped, set up and imported).
func BenchmarkImage(b *testing.B) {
	cli, err := docker.Client(b.Context())
	if err != nil {
		b.Skipf("no Docker engine: %v", err)
	}
	defer cli.Close()
	if err := Image().Prerequisites(); err != nil {
		b.Skip(err)
	}
	if _, err := EnsureImage(b.Context(), cli, nil); err != nil {
		b.Fatal(err)
	}
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			if _, built, err := docker.EnsureDebianImage(b.Context(), cli, Image(), nil); err != nil || built {
				b.Fatalf("built %v, err %v", built, err)
			}
		}
	})
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if _, err := cli.ImageRemove(b.Context(), Image().Tag(), client.ImageRemoveOptions{Force: true}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, built, err := docker.EnsureDebianImage(b.Context(), cli, Image(), nil); err != nil || !built {
				b.Fatalf("built %v, err %v", built, err)
			}
		}
	})
}
