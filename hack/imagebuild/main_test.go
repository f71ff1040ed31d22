/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The layer holds each file where it was asked, executable, under the
// directories a runtime walks, and a passwd naming the non-root user.
func TestLayerOf(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	if err := os.WriteFile(bin, []byte("#!binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	layer, err := layerOf([]string{bin + ":/usr/local/bin/server"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	bodies := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
		b, _ := io.ReadAll(tr)
		bodies[h.Name] = string(b)
	}
	for _, dir := range []string{"tmp/", "etc/", "usr/", "usr/local/", "usr/local/bin/"} {
		if got[dir] == nil || got[dir].Typeflag != tar.TypeDir {
			t.Errorf("no directory %s in the layer", dir)
		}
	}
	if h := got["usr/local/bin/server"]; h == nil || h.Mode != 0o755 || bodies[h.Name] != "#!binary" {
		t.Fatalf("the binary: %+v", h)
	}
	if got["tmp/"].Mode != 0o1777 {
		t.Errorf("/tmp mode %o, want 1777", got["tmp/"].Mode)
	}
	if !bytes.Contains([]byte(bodies["etc/passwd"]), []byte("nonroot:x:65532:65532")) {
		t.Errorf("passwd %q lacks the non-root user", bodies["etc/passwd"])
	}
	again, err := layerOf([]string{bin + ":/usr/local/bin/server"})
	if err != nil || !bytes.Equal(layer, again) {
		t.Error("the same files gave a different layer")
	}
}
