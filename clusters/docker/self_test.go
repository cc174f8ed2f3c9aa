package docker

import (
	"bytes"
	"context"
	"debug/elf"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// TestWithLibrariesCarriesTheLoader: a dynamically linked binary goes into an image with its
// loader and the libraries it needs; a static one alone.
func TestWithLibrariesCarriesTheLoader(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	files, err := withLibraries(exe)
	if err != nil {
		t.Fatal(err)
	}
	if files[0].name != "/app" {
		t.Fatalf("the binary is %s, not /app", files[0].name)
	}
	f, err := elf.NewFile(bytes.NewReader(files[0].data))
	if err != nil {
		t.Fatal(err)
	}
	libs, _ := f.ImportedLibraries()
	if len(libs) == 0 {
		if len(files) != 1 {
			t.Fatalf("a static binary took %d files along", len(files))
		}
		return
	}
	var names []string
	for _, f := range files[1:] {
		names = append(names, f.name)
	}
	for _, lib := range libs {
		found := false
		for _, n := range names {
			found = found || strings.HasSuffix(n, "/"+lib)
		}
		if !found {
			t.Errorf("%s is not taken along (%v)", lib, names)
		}
	}
	if !strings.Contains(strings.Join(names, " "), "ld-linux") {
		t.Errorf("no loader among %v", names)
	}
}

// TestSelfImagePlaysTheSidecar: the running binary (this test's), made into an image with the
// sidecar's role, serves Toxiproxy's API in a container.
func TestSelfImagePlaysTheSidecar(t *testing.T) {
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	ctx := t.Context()
	cli, err := Client(ctx)
	if err != nil {
		t.Skipf("no Docker: %v", err)
	}
	defer cli.Close()
	tag, err := SelfImage(ctx, cli, ToxiproxyRepo, ToxiproxyRole)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{Force: true}) })
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: tag, Cmd: []string{"-host", "0.0.0.0", "-port", SidecarAPIPort},
			ExposedPorts: []string{SidecarAPIPort + "/tcp"}, Labels: RunLabels("self-image-test"),
			WaitingFor: wait.ForHTTP("/version").WithPort(SidecarAPIPort + "/tcp").WithStartupTimeout(time.Minute),
		},
		Started: true,
	})
	if c != nil {
		t.Cleanup(func() { _ = testcontainers.TerminateContainer(c) })
	}
	if err != nil {
		t.Fatal(err)
	}
	api, err := c.PortEndpoint(ctx, SidecarAPIPort+"/tcp", "http")
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(api + "/proxies")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || strings.TrimSpace(string(body)) != "{}" {
		t.Fatalf("the sidecar's API: %d %s", res.StatusCode, body)
	}
}
