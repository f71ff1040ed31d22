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

// Command imagebuild writes a container image of static binaries, FROM
// scratch, as an image archive (the format of `docker save`) that
// `ctr images import` and `podman load` read. It needs no Docker, no
// registry and no dependency beyond the standard library: the local
// cluster's real node runs images built with it (hack/node.sh).
//
//	go run ./hack/imagebuild -tag aipm.local/pause:1 -o bin/images/pause.tar -entrypoint /pause bin/node/pause:/pause
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path"
	"runtime"
	"strings"
	"time"
)

// imageConfig is the part of the OCI image configuration a runtime reads.
type imageConfig struct {
	Architecture string    `json:"architecture"`
	OS           string    `json:"os"`
	Created      time.Time `json:"created"`
	Config       struct {
		Entrypoint []string `json:"Entrypoint,omitempty"`
		Cmd        []string `json:"Cmd,omitempty"`
		User       string   `json:"User,omitempty"`
		Env        []string `json:"Env,omitempty"`
		WorkingDir string   `json:"WorkingDir,omitempty"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

type manifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	out := flag.String("o", "", "The image archive to write.")
	tag := flag.String("tag", "", "The image's name and tag, such as aipm.local/pause:1.")
	entrypoint := flag.String("entrypoint", "", "The entrypoint, a path inside the image.")
	user := flag.String("user", "65532:65532", "The user the image runs as: non-root by default.")
	var env, args list
	flag.Var(&env, "env", "An environment variable NAME=value of the image (repeatable).")
	flag.Var(&args, "arg", "An argument after the entrypoint (repeatable).")
	flag.Parse()
	if *out == "" || *tag == "" || *entrypoint == "" || flag.NArg() == 0 {
		log.Fatal("usage: imagebuild -o ARCHIVE -tag NAME:TAG -entrypoint PATH [-user U] [-env K=V] [-arg A] SRC:DST...")
	}
	layer, err := layerOf(flag.Args())
	if err != nil {
		log.Fatal(err)
	}
	var cfg imageConfig
	cfg.Architecture, cfg.OS = runtime.GOARCH, "linux"
	// A fixed time, so that the same binaries give the same image.
	cfg.Created = time.Unix(0, 0).UTC()
	cfg.Config.Entrypoint, cfg.Config.Cmd = []string{*entrypoint}, args
	cfg.Config.User, cfg.Config.Env = *user, env
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = []string{"sha256:" + digest(layer)}
	config, err := json.Marshal(cfg)
	if err != nil {
		log.Fatal(err)
	}
	configName := digest(config) + ".json"
	layerName := digest(layer) + "/layer.tar"
	manifest, err := json.Marshal([]manifestEntry{{Config: configName, RepoTags: []string{*tag}, Layers: []string{layerName}}})
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for _, e := range []struct {
		name string
		body []byte
	}{{configName, config}, {layerName, layer}, {"manifest.json", manifest}} {
		if err := writeFile(tw, e.name, e.body, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s (%d bytes of layer)\n", *out, *tag, len(layer))
}

// layerOf makes one layer of the files named SRC:DST, each executable,
// with the directories a runtime expects (/tmp writable by all).
func layerOf(files []string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	mkdir := func(dir string, mode int64) error {
		if dir == "" || dir == "." || dirs[dir] {
			return nil
		}
		dirs[dir] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: mode, ModTime: time.Unix(0, 0)})
	}
	for _, d := range []string{"tmp", "etc"} {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		if err := mkdir(d, mode); err != nil {
			return nil, err
		}
	}
	for _, spec := range files {
		src, dst, ok := strings.Cut(spec, ":")
		if !ok {
			return nil, fmt.Errorf("%q: want SRC:DST", spec)
		}
		body, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		dst = strings.TrimPrefix(path.Clean("/"+dst), "/")
		for dir := path.Dir(dst); dir != "."; dir = path.Dir(dir) {
			if err := mkdir(dir, 0o755); err != nil {
				return nil, err
			}
		}
		if err := writeFile(tw, dst, body, 0o755); err != nil {
			return nil, err
		}
	}
	// Without /etc/passwd a runtime resolves a numeric user fine; a name
	// needs it, so the non-root user has one.
	passwd := []byte("root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n")
	if err := writeFile(tw, "etc/passwd", passwd, 0o644); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeFile(tw *tar.Writer, name string, body []byte, mode int64) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	_, err := tw.Write(body)
	return err
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
