package mariadb

import (
	"io"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/crossfire-dev/crossfire/clusters/docker"
)

// imageOrSkip returns a Docker client and the tag of the version's image, building the image
// when it is not there and can be; it skips where no Docker engine answers or the image cannot be
// built.
func imageOrSkip(t *testing.T, version string) (*client.Client, string) {
	t.Helper()
	cli, err := docker.Client(t.Context())
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	if _, err := cli.ImageInspect(t.Context(), Image(version).Tag()); err != nil {
		if err := Image(version).Prerequisites(); err != nil {
			t.Skipf("the image is not built and cannot be here: %v", err)
		}
	}
	tag, _, err := docker.EnsureDebianImage(t.Context(), cli, Image(version), testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	return cli, tag
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

var _ io.Writer = testLog{}

// TestImageBuilds builds each version's image (or finds it) and finds it the second time.
func TestImageBuilds(t *testing.T) {
	for _, version := range Versions {
		t.Run(version, func(t *testing.T) {
			cli, tag := imageOrSkip(t, version)
			again, built, err := docker.EnsureDebianImage(t.Context(), cli, Image(version), nil)
			if err != nil || built || again != tag {
				t.Fatalf("second EnsureDebianImage: %s, built %v, %v", again, built, err)
			}
		})
	}
}
