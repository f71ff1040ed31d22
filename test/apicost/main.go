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
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/serving"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
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
	// log.Fatal skips deferred calls and would leave etcd and kube-apiserver
	// running: from here on a failure stops them first.
	fatal := func(v ...any) {
		_ = env.Stop()
		log.Fatal(v...)
	}
	defer func() { _ = env.Stop() }()
	// Far above what is measured: the client never waits on its own limiter.
	cfg.QPS, cfg.Burst = 10000, 10000
	scheme := clientgoscheme.Scheme
	if err := lifecyclev1alpha1.AddToScheme(scheme); err != nil {
		fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fatal(err)
	}
	ctx := context.Background()
	p, mv := &lifecyclev1alpha1.AIProduct{}, &lifecyclev1alpha1.ModelVersion{}
	for _, o := range []struct {
		file string
		obj  client.Object
	}{{*productFile, p}, {*versionFile, mv}} {
		if err := decodeFile(o.file, o.obj); err != nil {
			fatal(err)
		}
		o.obj.SetNamespace("default")
		if err := c.Create(ctx, o.obj); err != nil {
			fatal(err)
		}
	}
	pid, err := exec.Command("pgrep", "-n", "kube-apiserver").Output()
	if err != nil {
		fatal("finding kube-apiserver: ", err)
	}
	apiserver := strings.TrimSpace(string(pid))

	fmt.Printf("| write | API server CPU per write | wall per write |\n| --- | --- | --- |\n")
	measure := func(name string, write func(i int) error) {
		time.Sleep(2 * time.Second) // let the creates above and the last kind's watch traffic settle
		cpu0, t0 := cpuSeconds(apiserver), time.Now()
		for i := range *n {
			if err := write(i); err != nil {
				fatal(name+": ", err)
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
	// The writes the operator makes: a whole status of the shape a Ready
	// product and a served version carry, changed in one condition's
	// message each time, as an update (what the operator sends) and as a
	// merge patch of that change (what it sent before).
	p.Status = readyStatus(mv.Name)
	if err := c.Status().Update(ctx, p); err != nil {
		fatal(err)
	}
	measure("AIProduct status update, a Ready product's whole status", func(i int) error {
		p.Status.Conditions[0].Message = fmt.Sprintf("measured %d", i)
		return c.Status().Update(ctx, p)
	})
	lean, err := statuswrite.NewForConfig(cfg, scheme)
	if err != nil {
		fatal(err)
	}
	measure("AIProduct status update, the same, answered with metadata only (the operator's)", func(i int) error {
		p.Status.Conditions[0].Message = fmt.Sprintf("measured lean %d", i)
		return lean.Update(ctx, p)
	})
	measure("AIProduct status merge patch, the same change", func(i int) error {
		return c.Status().Patch(ctx, p, client.RawPatch(types.MergePatchType, fmt.Appendf(nil,
			`{"status":{"conditions":[%s]}}`, conditionsWith(p.Status.Conditions, fmt.Sprintf("patched %d", i)))))
	})
	mv.Status = servedStatus(p.Name)
	if err := c.Status().Update(ctx, mv); err != nil {
		fatal(err)
	}
	measure("ModelVersion status update, a served version's whole status", func(i int) error {
		mv.Status.StageReason = fmt.Sprintf("measured %d", i)
		return c.Status().Update(ctx, mv)
	})
	measure("ModelVersion status update, the same, answered with metadata only (the operator's)", func(i int) error {
		mv.Status.StageReason = fmt.Sprintf("measured lean %d", i)
		return lean.Update(ctx, mv)
	})
	measure("ModelVersion status patch", func(i int) error {
		return c.Status().Patch(ctx, mv, client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"status":{"stageReason":"measured %d"}}`, i)))
	})
	measure("Event create (events.k8s.io/v1)", func(i int) error {
		return c.Create(ctx, &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("measured-%d", i)},
			EventTime: metav1.NowMicro(), ReportingController: "apicost", ReportingInstance: "apicost", Action: "Measure",
			Reason: "Measured", Note: "ProductionSet: serving fraud-detector-v1-2-0 as the first production version", Type: "Normal",
			Regarding: corev1.ObjectReference{APIVersion: lifecyclev1alpha1.GroupVersion.String(), Kind: "AIProduct", Namespace: "default", Name: p.Name}})
	})
	// The serving Deployment of the product, as the operator renders it:
	// created plainly (what the operator did before it applied) and by
	// server-side apply (what it does now), then changed in one annotation
	// by an update and by an apply.
	d := serving.Deployment(p, serving.Version{Name: mv.Name, URI: "s3://models/fraud/1", Replicas: 2})
	plain := func(i int) *appsv1.Deployment {
		o := d.DeepCopy()
		o.Name = fmt.Sprintf("measured-create-%d", i)
		o.OwnerReferences = nil
		return o
	}
	applied := func(i int) *appsv1.Deployment {
		o := plain(i)
		o.Name = fmt.Sprintf("measured-apply-%d", i)
		o.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
		return o
	}
	measure("Deployment create", func(i int) error { return c.Create(ctx, plain(i)) })
	measure("Deployment create by server-side apply", func(i int) error {
		return applyAs(ctx, c, applied(i))
	})
	measure("Deployment update, one annotation changed", func(i int) error {
		o := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: fmt.Sprintf("measured-create-%d", i)}, o); err != nil {
			return err
		}
		metav1.SetMetaDataAnnotation(&o.ObjectMeta, "measured", "yes")
		return c.Update(ctx, o)
	})
	measure("Deployment server-side apply, one annotation changed", func(i int) error {
		o := applied(i)
		metav1.SetMetaDataAnnotation(&o.ObjectMeta, "measured", "yes")
		return applyAs(ctx, c, o)
	})
	measure("ConfigMap create (a small built-in object)", func(i int) error {
		return c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("measured-%d", i)},
			Data: map[string]string{"a": "b"}})
	})
}

// applyAs sends o whole as a server-side apply, as internal/apply does.
func applyAs(ctx context.Context, c client.Client, o client.Object) error {
	body, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return c.Patch(ctx, o, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner("apicost"), client.ForceOwnership)
}

// readyStatus is the status the operator writes for a Ready product in
// Delivery of the benchmark's shape: entered straight into Delivery, two
// objectives met, three drift checks within threshold, a finished shadow
// experiment, seven conditions.
func readyStatus(production string) lifecyclev1alpha1.AIProductStatus {
	now := metav1.NewTime(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	cond := func(typ, status, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionStatus(status), ObservedGeneration: 1,
			LastTransitionTime: now, Reason: reason, Message: msg}
	}
	return lifecyclev1alpha1.AIProductStatus{
		ObservedGeneration: 1, Phase: lifecyclev1alpha1.PhaseDelivery,
		PhaseHistory: []lifecyclev1alpha1.PhaseTransition{{To: lifecyclev1alpha1.PhaseStrategy, Time: now, Reason: "Initialized"},
			{From: lifecyclev1alpha1.PhaseStrategy, To: lifecyclev1alpha1.PhaseDiscovery, Time: now, Reason: "GatesPassed"},
			{From: lifecyclev1alpha1.PhaseDiscovery, To: lifecyclev1alpha1.PhaseDelivery, Time: now, Reason: "GatesPassed"}},
		Gates: []lifecyclev1alpha1.GateStatus{{Name: "Strategy", Passed: true}, {Name: "Discovery", Passed: true}},
		Objectives: []lifecyclev1alpha1.ObjectiveStatus{
			{Name: "click-through", Value: "0.2", Target: "0.1", Direction: lifecyclev1alpha1.AtLeast, Result: lifecyclev1alpha1.ResultMet, LastTransitionTime: &now},
			{Name: "latency-p99", Value: "0.02", Target: "0.05", Direction: lifecyclev1alpha1.AtMost, Result: lifecyclev1alpha1.ResultMet, LastTransitionTime: &now}},
		ProductionVersion: production, DesiredVersion: production,
		Drift: []lifecyclev1alpha1.DriftStatus{{Name: "amount-psi", Feature: "amount", Value: "0.05", Threshold: "0.2", Result: lifecyclev1alpha1.ResultMet},
			{Name: "prediction-ks", Value: "0.4", Threshold: "0.01", Result: lifecyclev1alpha1.ResultMet},
			{Name: "embedding-wasserstein", Value: "0.1", Threshold: "0.3", Result: lifecyclev1alpha1.ResultMet}},
		DriftState: "None",
		Conditions: []metav1.Condition{
			cond("ObjectivesMet", "True", "ObjectivesMet", "all 2 objectives meet their targets"),
			cond("StrategyGate", "True", "GatePassed", "every requirement of the Strategy gate holds"),
			cond("DiscoveryGate", "True", "GatePassed", "every requirement of the Discovery gate holds"),
			cond("Serving", "True", "Available", production+" serves production"),
			cond("Drifted", "False", "NoDrift", "all 3 drift checks are within their thresholds"),
			cond("RetrainingAllowed", "True", "TemplateAllowed",
				"the Job template runs as an allowed ServiceAccount under the restricted Pod Security Standard"),
			cond(lifecyclev1alpha1.ConditionReady, "True", lifecyclev1alpha1.ReasonReconciled, "product is in phase Delivery")},
	}
}

// servedStatus is the status of a version serving production.
func servedStatus(product string) lifecyclev1alpha1.ModelVersionStatus {
	now := metav1.NewTime(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	return lifecyclev1alpha1.ModelVersionStatus{ObservedGeneration: 1, Stage: lifecyclev1alpha1.StageProduction, StageReason: "first production version",
		StageTransitionTime: &now, Eligible: true, Conditions: []metav1.Condition{
			{Type: "Eligible", Status: metav1.ConditionTrue, ObservedGeneration: 1, LastTransitionTime: now, Reason: "PolicyMet",
				Message: "meets the promotion policy of product " + product},
			{Type: lifecyclev1alpha1.ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: 1, LastTransitionTime: now,
				Reason: lifecyclev1alpha1.ReasonReconciled, Message: "evaluated against the policy of product " + product + ", eligible: true"}}}
}

// conditionsWith is the JSON of conds with the first condition's message
// replaced: a merge patch replaces a list whole.
func conditionsWith(conds []metav1.Condition, msg string) string {
	out := append([]metav1.Condition(nil), conds...)
	out[0].Message = msg
	b, err := json.Marshal(out)
	if err != nil {
		log.Fatal(err)
	}
	return strings.TrimSuffix(strings.TrimPrefix(string(b), "["), "]")
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
