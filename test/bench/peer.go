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

// The peer benchmark: the operator and Argo Rollouts' controller, one after
// the other on the same local cluster (hack/cluster.sh, whose kube-
// controller-manager runs the Deployment and ReplicaSet controllers and
// whose kwok readies the pods), each rolling the same canary out over N
// objects: 2 replicas, 25% -> pause 5s -> 75% -> pause 5s, no analysis.
// Each run starts its controller afresh on N objects already applied,
// waits for the first version to be served, switches every object to a
// second version with one patch each, and measures until all are promoted.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

const (
	peerOperator = "aipm-operator"
	peerRollouts = "argo-rollouts"
	// peerPauses is the time the canary's two pauses take by themselves.
	peerPauses = 10 * time.Second
)

// peerLimits is one way of setting the controllers' client limits.
type peerLimits struct {
	name string
	// qps and burst of each controller, by name.
	qps   map[string]float64
	burst map[string]int
}

var (
	limitsEqual = peerLimits{name: "equal", qps: map[string]float64{peerOperator: 100, peerRollouts: 100},
		burst: map[string]int{peerOperator: 200, peerRollouts: 200}}
	// Each project's defaults: the operator's flags (cmd/main.go) and Argo
	// Rollouts' (utils/defaults: DefaultQPS, DefaultBurst).
	limitsDefaults = peerLimits{name: "defaults", qps: map[string]float64{peerOperator: 100, peerRollouts: 40},
		burst: map[string]int{peerOperator: 200, peerRollouts: 80}}
)

type peerOptions struct {
	kubeconfig  string
	rolloutsDir string
	operatorBin string
	sizes       []int
	controllers []string
	runs        int
	limits      []peerLimits
	quiet, idle time.Duration
	timeout     time.Duration
	workDir     string
	logDir      string
	out         string
	trace       bool
}

// peerRun is what one run of one controller measured.
type peerRun struct {
	controller string
	n, run     int
	limits     string
	// apply is how long the harness took to switch all N objects; promote
	// from the first switch to the last object seen promoted.
	apply, promote time.Duration
	// own are the controller's requests from the switch until every client
	// was quiet; all the API server's writes by every client in that time,
	// the harness's switch and the nodes' and controllers' leases left out.
	own, all counts
	// cpu is the controller's CPU time in that window; apiserver and kcm
	// the API server's and kube-controller-manager's.
	cpu, apiserver, kcm time.Duration
	peakRSS             int64
	// idleOwn are the controller's writes, idleAll every client's, over the
	// idle window after it settled.
	idleOwn, idleAll int
}

func peerMain(args []string) {
	fs := flag.NewFlagSet("peer", flag.ExitOnError)
	var (
		o      peerOptions
		sizes  = fs.String("n", "100,300", "Comma-separated numbers of canaries.")
		only   = fs.String("controllers", peerOperator+","+peerRollouts, "The controllers to run: "+peerOperator+", "+peerRollouts+" or both.")
		limits = fs.String("limits", "equal,defaults", "Client limits to run with: equal (QPS 100, burst 200 for both) and defaults (each project's own).")
	)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "bin/kwok/kubeconfig", "The local cluster's kubeconfig (hack/cluster.sh up).")
	fs.StringVar(&o.rolloutsDir, "rollouts", "", "Argo Rollouts' directory from hack/build-engines.sh rollouts: the controller and its CRDs.")
	fs.StringVar(&o.operatorBin, "operator-bin", "", "A manager binary to measure instead of one built from ./cmd.")
	fs.IntVar(&o.runs, "runs", 3, "Runs of each controller per size and limits, alternating which goes first.")
	fs.DurationVar(&o.quiet, "quiet", 5*time.Second, "How long without a write by any client counts as settled.")
	fs.DurationVar(&o.idle, "idle", 20*time.Second, "How long the writes of a settled controller are counted.")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "How long any one wait may take.")
	fs.StringVar(&o.logDir, "logs", "bin/bench", "Directory for the controllers' logs.")
	fs.StringVar(&o.out, "out", "bin/bench/peer.md", "Where to write the report (markdown).")
	fs.BoolVar(&o.trace, "trace", false, "Write each controller's requests from the switch until quiet, in order, to <logs>/peer-trace-<namespace>.log.")
	_ = fs.Parse(args)
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("bad size %q", s)
		}
		o.sizes = append(o.sizes, n)
	}
	for _, l := range strings.Split(*limits, ",") {
		switch strings.TrimSpace(l) {
		case "equal":
			o.limits = append(o.limits, limitsEqual)
		case "defaults":
			o.limits = append(o.limits, limitsDefaults)
		default:
			log.Fatalf("bad -limits %q: equal or defaults", l)
		}
	}
	for _, c := range strings.Split(*only, ",") {
		switch c = strings.TrimSpace(c); c {
		case peerOperator, peerRollouts:
			o.controllers = append(o.controllers, c)
		default:
			log.Fatalf("bad -controllers %q: %s or %s", c, peerOperator, peerRollouts)
		}
	}
	if o.rolloutsDir == "" {
		log.Fatal("-rollouts is required: the directory hack/build-engines.sh rollouts prints")
	}

	if err := peer(o); err != nil {
		log.Fatal(err)
	}
}

// peer runs the comparison and writes its report, even a partial one.
func peer(o peerOptions) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	var err error
	if o.workDir, err = os.MkdirTemp("", "aipm-peer-"); err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(o.workDir) }()
	if o.operatorBin == "" {
		log.Printf("building the operator")
		if o.operatorBin, err = buildOperator(ctx, o.workDir); err != nil {
			return err
		}
	}
	report, err := runPeer(ctx, o)
	if report != "" {
		fmt.Print(report)
		if werr := os.WriteFile(o.out, []byte(report), 0o644); werr != nil {
			log.Print(werr)
		}
	}
	return err
}

// peerCluster is the harness's hold on the local cluster.
type peerCluster struct {
	cfg  *rest.Config
	c    client.Client
	dyn  dynamic.Interface
	kube kubernetes.Interface
	// harness counts the harness's own requests, to leave them out of
	// every client's.
	harness *counter
	px      *proxy
	prom    *fakePrometheus
}

func runPeer(ctx context.Context, o peerOptions) (string, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return "", fmt.Errorf("the local cluster (hack/cluster.sh up): %w", err)
	}
	pc := &peerCluster{cfg: cfg, harness: newCounter()}
	hcfg := countedConfig(cfg, pc.harness, -1, 0)
	if pc.c, err = client.New(hcfg, client.Options{Scheme: newScheme()}); err != nil {
		return "", err
	}
	if pc.dyn, err = dynamic.NewForConfig(hcfg); err != nil {
		return "", err
	}
	if pc.kube, err = kubernetes.NewForConfig(hcfg); err != nil {
		return "", err
	}
	if err := installRolloutsCRDs(ctx, o.rolloutsDir, o.kubeconfig); err != nil {
		return "", err
	}
	// Argo Rollouts' kinds leave the cluster with the bench: its
	// Experiment's short name, exp, is the operator's too, and kubectl
	// would answer for Argo's on a cluster used for the e2e tests next.
	defer uninstallRolloutsCRDs(o.rolloutsDir, o.kubeconfig)
	if pc.px, err = startProxy(cfg); err != nil {
		return "", err
	}
	defer pc.px.close()
	maxN := slices.Max(o.sizes)
	pc.prom = newFakePrometheus(maxN)
	defer pc.prom.Close()

	var runs []peerRun
	report := func() string { return renderPeer(o, runs) }
	for _, n := range o.sizes {
		for _, l := range o.limits {
			for r := 1; r <= o.runs; r++ {
				order := slices.Clone(o.controllers)
				if r%2 == 0 {
					slices.Reverse(order)
				}
				for _, who := range order {
					log.Printf("N=%d limits=%s run %d: %s", n, l.name, r, who)
					res, err := pc.runOne(ctx, o, who, n, r, l)
					if err != nil {
						return report(), fmt.Errorf("%d canaries, %s limits, run %d of %s: %w", n, l.name, r, who, err)
					}
					log.Printf("  promoted in %s (apply %s); own writes %.1f per canary, all clients' %.1f; CPU %.1f s; peak RSS %d MiB; idle writes %d",
						res.promote.Round(10*time.Millisecond), res.apply.Round(10*time.Millisecond), perCanary(res.own, n), perCanary(res.all, n),
						res.cpu.Seconds(), res.peakRSS>>20, res.idleOwn)
					runs = append(runs, res)
					if o.out != "" {
						_ = os.WriteFile(o.out, []byte(report()), 0o644)
					}
				}
			}
		}
	}
	return report(), nil
}

// installRolloutsCRDs applies Argo Rollouts' CRDs from its module, as its
// release installs them.
func installRolloutsCRDs(ctx context.Context, dir, kubeconfig string) error {
	kubectl, err := filepath.Glob("bin/k8s/*/kubectl")
	if err != nil || len(kubectl) == 0 {
		return fmt.Errorf("no kubectl under bin/k8s (make control-plane)")
	}
	cmd := exec.CommandContext(ctx, kubectl[len(kubectl)-1], "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", filepath.Join(dir, "crds"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("installing Argo Rollouts' CRDs: %v: %s", err, out)
	}
	// kubectl wait fails outright on a CRD with no conditions yet; poll.
	for range 120 {
		out, _ := exec.CommandContext(ctx, kubectl[len(kubectl)-1], "--kubeconfig", kubeconfig, "get", "crd/rollouts.argoproj.io",
			"-o", `jsonpath={.status.conditions[?(@.type=="Established")].status}`).Output()
		if string(out) == "True" {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("the Rollout CRD is not Established after 60s")
}

func uninstallRolloutsCRDs(dir, kubeconfig string) {
	kubectl, err := filepath.Glob("bin/k8s/*/kubectl")
	if err != nil || len(kubectl) == 0 {
		return
	}
	if out, err := exec.Command(kubectl[len(kubectl)-1], "--kubeconfig", kubeconfig, "delete", "--ignore-not-found",
		"-f", filepath.Join(dir, "crds")).CombinedOutput(); err != nil {
		log.Printf("removing Argo Rollouts' CRDs: %v: %s", err, out)
	}
}

var (
	gvrProduct = lifecyclev1alpha1.GroupVersion.WithResource("aiproducts")
	gvrRollout = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}
)

func (pc *peerCluster) runOne(ctx context.Context, o peerOptions, who string, n, run int, l peerLimits) (peerRun, error) {
	res := peerRun{controller: who, n: n, run: run, limits: l.name}
	ns := fmt.Sprintf("peer-%s-%d-%s-%d", strings.Split(who, "-")[0], n, l.name, run)
	if err := pc.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return res, err
	}
	defer func() {
		if err := pc.deleteNamespace(context.WithoutCancel(ctx), ns, o.timeout); err != nil {
			log.Printf("deleting %s: %v", ns, err)
		}
	}()

	gvr := gvrRollout
	if who == peerOperator {
		gvr = gvrProduct
	}
	tr := newPeerTracker()
	inf := dynamicinformer.NewFilteredDynamicSharedInformerFactory(pc.dyn, 0, ns, nil)
	informer := inf.ForResource(gvr).Informer()
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    tr.see,
		UpdateFunc: func(_, obj any) { tr.see(obj) },
	}); err != nil {
		return res, err
	}
	stop := make(chan struct{})
	defer close(stop)
	inf.Start(stop)

	// The objects first, the controller after: each run's controller starts
	// from nothing in its cache, as after an upgrade.
	if err := parallel(ctx, n, 16, func(ctx context.Context, i int) error {
		if who == peerOperator {
			return pc.applyProduct(ctx, ns, i)
		}
		return pc.applyRollout(ctx, ns, i)
	}); err != nil {
		return res, err
	}
	proc, stopController, err := pc.startController(o, who, n, run, l)
	if err != nil {
		return res, err
	}
	defer stopController()

	served, promoted := operatorServed, operatorPromoted
	if who == peerRollouts {
		served, promoted = rolloutServed, rolloutPromoted
	}
	if _, err := tr.waitAll(ctx, n, o.timeout, proc, served); err != nil {
		return res, fmt.Errorf("waiting for the first version: %w", err)
	}
	if err := pc.waitQuiet(ctx, o.quiet, o.timeout, proc); err != nil {
		return res, err
	}

	own0, _, _ := pc.px.snapshot()
	harness0, _, _ := pc.harness.snapshot()
	all0, err := pc.apiserverWrites(ctx)
	if err != nil {
		return res, err
	}
	cpu0, api0, kcm0 := processCPU(proc.pid()), processCPU(findProcess("kube-apiserver")), processCPU(findProcess("kube-controller-manager"))
	if o.trace {
		f, err := os.Create(filepath.Join(o.logDir, "peer-trace-"+ns+".log"))
		if err != nil {
			return res, err
		}
		defer func() { _ = f.Close() }()
		pc.px.setTrace(f)
		defer pc.px.setTrace(nil)
	}
	start := time.Now()
	before := tr.marks()
	tr.expect(func(u *unstructured.Unstructured) bool { return promoted(u, before[u.GetName()]) })
	if err := parallel(ctx, n, 16, func(ctx context.Context, i int) error {
		if who == peerOperator {
			return pc.switchProduct(ctx, ns, i)
		}
		return pc.switchRollout(ctx, ns, i)
	}); err != nil {
		return res, err
	}
	res.apply = time.Since(start)
	last, err := tr.waitAll(ctx, n, o.timeout, proc, nil)
	if err != nil {
		return res, fmt.Errorf("waiting for the promotions: %w", err)
	}
	res.promote = last.Sub(start)
	if err := pc.waitQuiet(ctx, o.quiet, o.timeout, proc); err != nil {
		return res, err
	}
	pc.px.setTrace(nil)
	own1, _, _ := pc.px.snapshot()
	harness1, _, _ := pc.harness.snapshot()
	all1, err := pc.apiserverWrites(ctx)
	if err != nil {
		return res, err
	}
	res.cpu = processCPU(proc.pid()) - cpu0
	res.apiserver = processCPU(findProcess("kube-apiserver")) - api0
	res.kcm = processCPU(findProcess("kube-controller-manager")) - kcm0
	res.own = own1.minus(own0)
	res.all = all1.minus(all0).minus(writesOnly(harness1.minus(harness0)))

	select {
	case <-time.After(o.idle):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	own2, _, _ := pc.px.snapshot()
	harness2, _, _ := pc.harness.snapshot()
	all2, err := pc.apiserverWrites(ctx)
	if err != nil {
		return res, err
	}
	_, res.idleOwn = own2.minus(own1).total()
	_, res.idleAll = all2.minus(all1).minus(writesOnly(harness2.minus(harness1))).total()
	m, err := residentOf(proc.pid())
	if err != nil {
		return res, err
	}
	res.peakRSS = m.peak
	return res, nil
}

// peerProduct is the operator's side of a canary: a product in Delivery
// serving 2 replicas, with the canary's steps, pinned to its first version.
// It keeps what the Strategy and Discovery gates ask of a product in
// Delivery (owners, assessments, objectives, a succeeded experiment).
func peerProduct(ns string, i int) *lifecyclev1alpha1.AIProduct {
	name := productName(i)
	p := fleetProduct(ns, name, time.Minute, false)
	p.Labels = nil
	p.Spec.Discovery.Experiments[0].ModelVersion = lifecyclev1alpha1.LocalObjectName(versionName(name, 0))
	d := p.Spec.Delivery
	d.ModelVersion = lifecyclev1alpha1.ModelVersionSelection{Policy: lifecyclev1alpha1.VersionPinned, Name: lifecyclev1alpha1.LocalObjectName(versionName(name, 0))}
	d.Serving.Replicas = 2
	d.Rollout = &lifecyclev1alpha1.RolloutSpec{Steps: []lifecyclev1alpha1.RolloutStep{
		{SetWeight: ptr.To[int32](25)},
		{Pause: &lifecyclev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: 5 * time.Second}}},
		{SetWeight: ptr.To[int32](75)},
		{Pause: &lifecyclev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: 5 * time.Second}}},
	}}
	d.Monitoring, d.Retraining, d.Promotion = nil, nil, nil
	return p
}

func (pc *peerCluster) applyProduct(ctx context.Context, ns string, i int) error {
	p := peerProduct(ns, i)
	if err := pc.c.Create(ctx, p); err != nil {
		return err
	}
	if err := discoveryDone(ctx, pc.c, p); err != nil {
		return err
	}
	for v := range 2 {
		if err := pc.c.Create(ctx, fleetVersion(ns, p.Name, v, true)); err != nil {
			return err
		}
	}
	return nil
}

// switchProduct pins the product to its second version: one patch.
func (pc *peerCluster) switchProduct(ctx context.Context, ns string, i int) error {
	patch := fmt.Sprintf(`{"spec":{"delivery":{"modelVersion":{"name":%q}}}}`, versionName(productName(i), 1))
	return pc.c.Patch(ctx, &lifecyclev1alpha1.AIProduct{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: productName(i)}},
		client.RawPatch(types.MergePatchType, []byte(patch)))
}

// peerContainers is the model server of both sides, serving version v.
func peerContainers(v int) []any {
	return []any{map[string]any{
		"name": "server", "image": "example.com/model-server:1",
		"ports": []any{map[string]any{"containerPort": int64(8080)}},
		"env":   []any{map[string]any{"name": "MODEL_VERSION", "value": fmt.Sprintf("1.%d.0", v)}},
	}}
}

// applyRollout makes Argo Rollouts' side of a canary: a Rollout with the
// same steps and a Service in front of it, as the operator's product has.
func (pc *peerCluster) applyRollout(ctx context.Context, ns string, i int) error {
	name := productName(i)
	labels := map[string]any{"app": name}
	ro := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"replicas": int64(2),
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec":     map[string]any{"containers": peerContainers(0)},
			},
			"strategy": map[string]any{"canary": map[string]any{"steps": []any{
				map[string]any{"setWeight": int64(25)},
				map[string]any{"pause": map[string]any{"duration": "5s"}},
				map[string]any{"setWeight": int64(75)},
				map[string]any{"pause": map[string]any{"duration": "5s"}},
			}}},
		},
	}}
	if _, err := pc.dyn.Resource(gvrRollout).Namespace(ns).Create(ctx, ro, metav1.CreateOptions{}); err != nil {
		return err
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8080, TargetPort: intstr.FromInt32(8080)}}}}
	return pc.c.Create(ctx, svc)
}

// switchRollout changes the Rollout's pod template to the second version:
// one patch.
func (pc *peerCluster) switchRollout(ctx context.Context, ns string, i int) error {
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": peerContainers(1)}}}})
	if err != nil {
		return err
	}
	_, err = pc.dyn.Resource(gvrRollout).Namespace(ns).Patch(ctx, productName(i), types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// operatorServed: the product is Ready, serving its first version.
func operatorServed(u *unstructured.Unstructured, _ string) bool {
	pv, _, _ := unstructured.NestedString(u.Object, "status", "productionVersion")
	if pv != versionName(u.GetName(), 0) {
		return false
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == lifecyclev1alpha1.ConditionReady && m["status"] == string(metav1.ConditionTrue) {
			return true
		}
	}
	return false
}

// operatorPromoted: the product's production version is its second.
func operatorPromoted(u *unstructured.Unstructured, _ string) bool {
	pv, _, _ := unstructured.NestedString(u.Object, "status", "productionVersion")
	return pv == versionName(u.GetName(), 1)
}

// rolloutServed: the Rollout is Healthy on the ReplicaSet of its template.
func rolloutServed(u *unstructured.Unstructured, _ string) bool {
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	stable, _, _ := unstructured.NestedString(u.Object, "status", "stableRS")
	current, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
	return phase == "Healthy" && stable != "" && stable == current
}

// rolloutPromoted: the Rollout's stable ReplicaSet is a new one, that of its
// template (before is the stable one at the switch).
func rolloutPromoted(u *unstructured.Unstructured, before string) bool {
	stable, _, _ := unstructured.NestedString(u.Object, "status", "stableRS")
	current, _, _ := unstructured.NestedString(u.Object, "status", "currentPodHash")
	return stable != "" && stable != before && stable == current
}

// peerTracker keeps the last state of each object the informer shows, and
// when each first met the condition the harness waits for.
type peerTracker struct {
	mu   sync.Mutex
	objs map[string]*unstructured.Unstructured
	cond func(*unstructured.Unstructured) bool
	met  map[string]time.Time
}

func newPeerTracker() *peerTracker {
	return &peerTracker{objs: map[string]*unstructured.Unstructured{}, met: map[string]time.Time{}}
}

func (t *peerTracker) see(obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.objs[u.GetName()] = u
	if _, done := t.met[u.GetName()]; !done && t.cond != nil && t.cond(u) {
		t.met[u.GetName()] = now
	}
}

// expect starts timing a new condition, from the objects as they are now.
func (t *peerTracker) expect(cond func(*unstructured.Unstructured) bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cond, t.met = cond, map[string]time.Time{}
	for name, u := range t.objs {
		if cond(u) {
			t.met[name] = now
		}
	}
}

// marks is each Rollout's stable ReplicaSet as the harness last saw it.
func (t *peerTracker) marks() map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]string, len(t.objs))
	for name, u := range t.objs {
		out[name], _, _ = unstructured.NestedString(u.Object, "status", "stableRS")
	}
	return out
}

// waitAll waits until n objects meet the condition (served, if not nil,
// becomes it) and returns when the last of them did.
func (t *peerTracker) waitAll(ctx context.Context, n int, timeout time.Duration, controller *process,
	cond func(*unstructured.Unstructured, string) bool) (time.Time, error) {
	if cond != nil {
		t.expect(func(u *unstructured.Unstructured) bool { return cond(u, "") })
	}
	deadline := time.After(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		t.mu.Lock()
		got := len(t.met)
		var last time.Time
		for _, at := range t.met {
			if at.After(last) {
				last = at
			}
		}
		t.mu.Unlock()
		if got >= n {
			return last, nil
		}
		select {
		case <-tick.C:
		case <-controller.exited:
			return time.Time{}, fmt.Errorf("the controller exited with %d of %d done: %v (its log: %s)", got, n, controller.exitErr, controller.log.Name())
		case <-deadline:
			return time.Time{}, fmt.Errorf("%d of %d after %s", got, n, timeout)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// waitQuiet waits until no client but the harness has written anything
// for quiet: the pods of a rollout go on being deleted and their endpoints
// updated after the rollout itself is done.
func (pc *peerCluster) waitQuiet(ctx context.Context, quiet, timeout time.Duration, controller *process) error {
	deadline := time.Now().Add(timeout)
	var last counts
	lastChange := time.Now()
	for time.Now().Before(deadline) {
		now, err := pc.apiserverWrites(ctx)
		if err != nil {
			return err
		}
		h, _, _ := pc.harness.snapshot()
		now = now.minus(writesOnly(h))
		if last == nil || len(now.minus(last)) > 0 {
			last, lastChange = now, time.Now()
		} else if time.Since(lastChange) >= quiet {
			return nil
		}
		select {
		case <-time.After(time.Second):
		case <-controller.exited:
			return fmt.Errorf("the controller exited: %v (its log: %s)", controller.exitErr, controller.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("no quiet %s within %s", quiet, timeout)
}

// apiserverWrites reads every client's writes so far from the API server's
// apiserver_request_total, by verb and resource, leases left out: the
// nodes and the control plane renew theirs every few seconds whatever the
// controllers do. The harness's scrapes are reads.
func (pc *peerCluster) apiserverWrites(ctx context.Context) (counts, error) {
	body, err := pc.kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	return parseRequestTotals(string(body))
}

// parseRequestTotals sums apiserver_request_total by verb and resource
// (with its subresource), counting writes only.
func parseRequestTotals(text string) (counts, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	out := counts{}
	f, ok := families["apiserver_request_total"]
	if !ok {
		return out, nil
	}
	for _, m := range f.GetMetric() {
		l := metricLabels(m)
		verb := strings.ToLower(l["verb"])
		switch verb {
		case "post":
			verb = "create"
		case "put":
			verb = "update"
		}
		r := request{Verb: verb, Resource: l["resource"]}
		if s := l["subresource"]; s != "" {
			r.Resource += "/" + s
		}
		if !r.write() || r.Resource == "leases" {
			continue
		}
		out[r] += int(m.GetCounter().GetValue())
	}
	return out, nil
}

func metricLabels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// writesOnly keeps the writes of a client's requests, as the API server's
// count (apiserverWrites) keeps them.
func writesOnly(c counts) counts {
	out := counts{}
	for k, v := range c {
		if k.write() && k.Resource != "leases" {
			out[k] = v
		}
	}
	return out
}

func (pc *peerCluster) deleteNamespace(ctx context.Context, ns string, timeout time.Duration) error {
	if err := pc.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, err := pc.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("still there after %s", timeout)
}

// startController starts one side's controller through the counting
// proxy, and returns it with how to stop it.
func (pc *peerCluster) startController(o peerOptions, who string, n, run int, l peerLimits) (*process, func(), error) {
	if who == peerOperator {
		op, err := startOperator(o.operatorBin, o.workDir, o.logDir, n, pc.px.kubeconfig(), pc.prom.URL,
			operatorSettings{QPS: l.qps[who], Burst: l.burst[who], Workers: 32, VersionWorkers: 4})
		if err != nil {
			return nil, nil, err
		}
		return op.process, op.stop, nil
	}
	kc := filepath.Join(o.workDir, "rollouts.kubeconfig")
	if err := os.WriteFile(kc, []byte(pc.px.kubeconfig()), 0o600); err != nil {
		return nil, nil, err
	}
	metrics, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	healthz, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return nil, nil, err
	}
	logf, err := os.Create(filepath.Join(o.logDir, fmt.Sprintf("rollouts-%d-%s-%d.log", n, l.name, run)))
	if err != nil {
		return nil, nil, err
	}
	p, err := startProcess(exec.Command(filepath.Join(o.rolloutsDir, "rollouts"), "--kubeconfig", kc, "--leader-elect=false",
		"--metricsPort", strconv.Itoa(metrics), "--healthzPort", strconv.Itoa(healthz), "--loglevel", "warn",
		"--qps", strconv.FormatFloat(l.qps[who], 'g', -1, 64), "--burst", strconv.Itoa(l.burst[who])), logf)
	if err != nil {
		return nil, nil, err
	}
	return p, p.stop, nil
}

func freePort() (int, error) {
	addr, err := freeAddr()
	if err != nil {
		return 0, err
	}
	_, port, _ := strings.Cut(addr, ":")
	return strconv.Atoi(port)
}

func perCanary(c counts, n int) float64 {
	_, w := c.total()
	return float64(w) / float64(n)
}

// median of xs; the mean of the middle two for an even count.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 0 {
		return (s[m-1] + s[m]) / 2
	}
	return s[m]
}

// peerGroup is the runs of one controller at one size and limits.
type peerGroup struct {
	n          int
	limits     string
	controller string
}

func renderPeer(o peerOptions, runs []peerRun) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## Side by side with Argo Rollouts, %s\n\n", time.Now().Format("2006-01-02 15:04 MST"))
	w("- machine: %d cores, %s memory; %s; operator built from %s; Argo Rollouts' controller from %s\n",
		runtime.NumCPU(), memTotal(), goVersion(), revision(), filepath.Base(o.rolloutsDir))
	w("- canary: N objects of 2 replicas, 25%% -> pause 5s -> 75%% -> pause 5s, no analysis; the switch is one merge patch per object "+
		"(an AIProduct's spec.delivery.modelVersion.name, a Rollout's pod template); %d runs of each per size and limits, alternating which goes first\n", o.runs)
	w("- limits: equal = QPS 100, burst 200 for both; defaults = the operator's (100, 200) and Argo Rollouts' (40, 80)\n")
	w("- writes: the controller's own (through a counting proxy) and every client's (the API server's apiserver_request_total: "+
		"the Deployment and ReplicaSet controllers, the scheduler, kwok's pod updates; leases and the harness's switch left out), "+
		"from the switch until no client wrote for %s\n\n", o.quiet)

	groups := map[peerGroup][]peerRun{}
	for _, r := range runs {
		g := peerGroup{r.n, r.limits, r.controller}
		groups[g] = append(groups[g], r)
	}
	for _, n := range o.sizes {
		for _, l := range o.limits {
			op, ar := groups[peerGroup{n, l.name, peerOperator}], groups[peerGroup{n, l.name, peerRollouts}]
			if len(op) == 0 && len(ar) == 0 {
				continue
			}
			w("### N=%d, %s limits: medians of %d and %d runs\n\n", n, l.name, len(op), len(ar))
			w("| | aipm-operator | Argo Rollouts | operator / Argo Rollouts | target |\n| --- | --- | --- | --- | --- |\n")
			row := func(name string, f func(peerRun) float64, format, target string) {
				a, r := medianOf(op, f), medianOf(ar, f)
				ratio := "-"
				if r != 0 {
					ratio = fmt.Sprintf("%.2f", a/r)
				}
				w("| %s | "+format+" | "+format+" | %s | %s |\n", name, a, r, ratio, target)
			}
			row("all promoted after the switch (s)", func(r peerRun) float64 { return r.promote.Seconds() }, "%.1f", "below 1")
			row("beyond the 10 s of pauses (s)", func(r peerRun) float64 { return (r.promote - peerPauses).Seconds() }, "%.1f", "")
			row("switch applied in (s)", func(r peerRun) float64 { return r.apply.Seconds() }, "%.1f", "")
			row("controller's writes per canary", func(r peerRun) float64 { return perCanary(r.own, r.n) }, "%.2f", "at most 0.5")
			row("controller's requests per canary, reads too", func(r peerRun) float64 {
				all, _ := r.own.total()
				return float64(all) / float64(r.n)
			}, "%.2f", "")
			row("every client's writes per canary", func(r peerRun) float64 { return perCanary(r.all, r.n) }, "%.2f", "at most 1")
			row("controller CPU (s)", func(r peerRun) float64 { return r.cpu.Seconds() }, "%.2f", "")
			row("API server CPU (s)", func(r peerRun) float64 { return r.apiserver.Seconds() }, "%.2f", "")
			row("kube-controller-manager CPU (s)", func(r peerRun) float64 { return r.kcm.Seconds() }, "%.2f", "")
			row("controller peak RSS (MiB)", func(r peerRun) float64 { return float64(r.peakRSS >> 20) }, "%.0f", "")
			row("controller's idle writes", func(r peerRun) float64 { return float64(r.idleOwn) }, "%.0f", "")
			row("every client's idle writes", func(r peerRun) float64 { return float64(r.idleAll) }, "%.0f", "")
			w("\n")
			for _, side := range []struct {
				name string
				rs   []peerRun
			}{{"aipm-operator", op}, {"Argo Rollouts", ar}} {
				w("- %s, per canary (mean of its runs): own writes %s; own reads %s; every client's writes %s\n", side.name,
					perVerb(side.rs, true, func(r peerRun) counts { return r.own }), perVerb(side.rs, false, func(r peerRun) counts { return r.own }),
					perVerb(side.rs, true, func(r peerRun) counts { return r.all }))
			}
			w("\n")
		}
	}
	w("### Runs\n\n| N | limits | run | controller | promoted (s) | applied (s) | own writes / canary | all writes / canary | CPU (s) | API server CPU (s) | kcm CPU (s) | peak RSS (MiB) | idle writes own / all |\n")
	w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range runs {
		w("| %d | %s | %d | %s | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %d | %d / %d |\n", r.n, r.limits, r.run, r.controller,
			r.promote.Seconds(), r.apply.Seconds(), perCanary(r.own, r.n), perCanary(r.all, r.n), r.cpu.Seconds(), r.apiserver.Seconds(),
			r.kcm.Seconds(), r.peakRSS>>20, r.idleOwn, r.idleAll)
	}
	return b.String()
}

func medianOf(rs []peerRun, f func(peerRun) float64) float64 {
	xs := make([]float64, 0, len(rs))
	for _, r := range rs {
		xs = append(xs, f(r))
	}
	return median(xs)
}

// perVerb lists the writes (or the other requests) per canary by kind, the
// most frequent first, over all of the runs given.
func perVerb(rs []peerRun, writes bool, of func(peerRun) counts) string {
	sum, canaries := counts{}, 0
	for _, r := range rs {
		for k, v := range of(r) {
			if k.write() == writes {
				sum[k] += v
			}
		}
		canaries += r.n
	}
	if canaries == 0 {
		return "-"
	}
	var parts []string
	for _, k := range sum.sorted() {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(sum[k])/float64(canaries)))
	}
	return strings.Join(parts, ", ")
}
