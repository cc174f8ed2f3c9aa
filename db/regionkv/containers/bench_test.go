package containers

import (
	"context"
	"testing"

	"github.com/moby/moby/client"

	"github.com/crossfire-dev/crossfire/clusters/docker"
)

// BenchmarkNewToReady measures New, from the call to three leaders answering behind the sidecar,
// with both images already built: the Go builds that find them (from a warm build cache), the
// network, the sidecar and its proxies, and the three containers with their readiness checks.
// Close is not timed.
//
//	go test ./db/regionkv/containers/ -run '^$' -bench NewToReady -benchtime 5x -count 3
func BenchmarkNewToReady(b *testing.B) {
	cli := benchDocker(b)
	if _, _, err := Images(b.Context(), cli, b.TempDir()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		c, err := New(b.Context())
		b.StopTimer()
		if c != nil {
			if cerr := c.Close(); cerr != nil {
				b.Fatal(cerr)
			}
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkImagesCold measures Images when neither image exists: "image" with a warm Go build
// cache (the binaries compile from cached packages; the images are built anew), "go-cache-cold"
// with an empty build cache as well, as on a fresh clone whose modules are downloaded.
//
//	go test ./db/regionkv/containers/ -run '^$' -bench ImagesCold -benchtime 3x -count 3 -timeout 60m
func BenchmarkImagesCold(b *testing.B) {
	cli := benchDocker(b)
	for _, coldGo := range []bool{false, true} {
		name := "image"
		if coldGo {
			name = "go-cache-cold"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				removeImages(b, cli)
				if coldGo {
					b.Setenv("GOCACHE", b.TempDir())
				}
				b.StartTimer()
				_, _, err := Images(b.Context(), cli, dir)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// removeImages removes every crossfire image, so that Images must build them.
func removeImages(b *testing.B, cli *client.Client) {
	ctx := context.Background()
	list, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", docker.Label+"=true")})
	if err != nil {
		b.Fatal(err)
	}
	for _, im := range list.Items {
		if _, err := cli.ImageRemove(ctx, im.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDocker(b *testing.B) *client.Client {
	b.Helper()
	cli, err := docker.Client(b.Context())
	if err != nil {
		b.Skipf("no Docker engine: %v", err)
	}
	b.Cleanup(func() { cli.Close() })
	return cli
}
