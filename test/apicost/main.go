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

// Command apicost measures what one write of each kind the operator makes
// costs the API server in CPU, on its own envtest control plane: the
// figures behind "what bounds convergence" in docs/benchmarks.md. It
// creates one AIProduct and one ModelVersion from config/samples, then
// times N sequential writes of each kind and reads the kube-apiserver
// process's CPU time from /proc before and after.
//
//	go run ./test/apicost [-n 2000] [-product config/samples/delivery_aiproduct.yaml]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"k8s.io/client-go/rest"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func main() {
	n := flag.Int("n", 2000, "Writes of each kind.")
	productFile := flag.String("product", "config/samples/delivery_aiproduct.yaml", "The AIProduct to write the status of.")
	versionFile := flag.String("version", "config/samples/fraud_detector_v1_2_0.yaml", "The ModelVersion to write the status of.")
	crds := flag.String("crds", "config/crd/bases", "Directory of the CRDs.")
	assets := flag.String("assets", envOr("KUBEBUILDER_ASSETS", "bin/k8s/v1.37.2"), "Directory holding etcd and kube-apiserver.")
	cpuProfile := flag.String("cpuprofile", "", "Write a 5 s CPU profile of the API server, taken during the AIProduct writes, to this file.")
	flag.Parse()

	env := &envtest.Environment{CRDDirectoryPaths: []string{*crds}, BinaryAssetsDirectory: *assets, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	// Far above what is measured: the client never waits on its own limiter.
	cfg.QPS, cfg.Burst = 10000, 10000
	scheme := clientgoscheme.Scheme
	if err := v1.AddToScheme(scheme); err != nil {
		log.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	p, mv := &v1.AIProduct{}, &v1.ModelVersion{}
	for _, o := range []struct {
		file string
		obj  client.Object
	}{{*productFile, p}, {*versionFile, mv}} {
		if err := decodeFile(o.file, o.obj); err != nil {
			log.Fatal(err)
		}
		o.obj.SetNamespace("default")
		if err := c.Create(ctx, o.obj); err != nil {
			log.Fatal(err)
		}
	}
	pid, err := exec.Command("pgrep", "-n", "kube-apiserver").Output()
	if err != nil {
		log.Fatal("finding kube-apiserver: ", err)
	}
	apiserver := strings.TrimSpace(string(pid))

	fmt.Printf("| write | API server CPU per write | wall per write |\n| --- | --- | --- |\n")
	measure := func(name string, write func(i int) error) {
		time.Sleep(2 * time.Second) // let the creates above and the last kind's watch traffic settle
		cpu0, t0 := cpuSeconds(apiserver), time.Now()
		for i := range *n {
			if err := write(i); err != nil {
				log.Fatalf("%s: %v", name, err)
			}
		}
		per := func(d float64) float64 { return d * 1000 / float64(*n) }
		fmt.Printf("| %s | %.2f ms | %.2f ms |\n", name, per(cpuSeconds(apiserver)-cpu0), per(time.Since(t0).Seconds()))
	}
	if *cpuProfile != "" {
		go profileAPIServer(cfg, *cpuProfile)
	}
	measure("AIProduct status patch ("+*productFile+")", func(i int) error {
		return c.Status().Patch(ctx, p, client.RawPatch(types.MergePatchType, fmt.Appendf(nil,
			`{"status":{"lastRequest":{"action":"Promote","value":"%d","handledAt":"2026-11-23T00:00:00Z","result":"measured"}}}`, i)))
	})
	measure("ModelVersion status patch", func(i int) error {
		return c.Status().Patch(ctx, mv, client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"status":{"stageReason":"measured %d"}}`, i)))
	})
	measure("Event create (events.k8s.io/v1)", func(i int) error {
		return c.Create(ctx, &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("measured-%d", i)},
			EventTime: metav1.NowMicro(), ReportingController: "apicost", ReportingInstance: "apicost", Action: "Measure",
			Reason: "Measured", Note: "ProductionSet: serving fraud-detector-v1-2-0 as the first production version", Type: "Normal",
			Regarding: corev1.ObjectReference{APIVersion: v1.GroupVersion.String(), Kind: "AIProduct", Namespace: "default", Name: p.Name}})
	})
	measure("ConfigMap create (a small built-in object)", func(i int) error {
		return c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("measured-%d", i)},
			Data: map[string]string{"a": "b"}})
	})
}

// profileAPIServer saves a CPU profile from the API server's own pprof
// endpoint (kube-apiserver serves it by default, to authorized callers).
func profileAPIServer(cfg *rest.Config, path string) {
	time.Sleep(3 * time.Second) // into the AIProduct writes, past the pause before them
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		log.Print(err)
		return
	}
	resp, err := hc.Get(strings.TrimSuffix(cfg.Host, "/") + "/debug/pprof/profile?seconds=5")
	if err != nil {
		log.Print(err)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != 200 {
		log.Printf("API server profile: %s", resp.Status)
		return
	}
	f, err := os.Create(path)
	if err != nil {
		log.Print(err)
		return
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		log.Print(err)
	}
	_ = f.Close()
}

func decodeFile(path string, into client.Object) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	return yaml.NewYAMLOrJSONDecoder(f, 4096).Decode(into)
}

// cpuSeconds reads a process's user and system CPU time from /proc.
func cpuSeconds(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		log.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	user, _ := strconv.ParseFloat(f[11], 64)
	sys, _ := strconv.ParseFloat(f[12], 64)
	return (user + sys) / 100 // clock ticks; 100 per second on Linux
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
