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
	"context"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// harness is what the benchmark runs beside the operator: the stand-in for
// the Deployment controller envtest lacks, and watches that time what the
// operator does. It has its own client and counts its own requests, apart
// from the operator's.
type harness struct {
	mgr     ctrl.Manager
	counter *counter
	// direct reads and writes the API server without a cache.
	direct client.Client

	ready *readiness
	jobs  *firstSeen
	rolls *rollouts
}

// harnessQPS keeps the harness's own client from being what the operator
// waits for: a Deployment is marked available as soon as the API server
// allows.
const harnessQPS, harnessBurst = 5000, 10000

func newHarness(cfg *rest.Config, scheme *runtime.Scheme, fleetNS string, fleetSize int) (*harness, error) {
	h := &harness{counter: newCounter(), jobs: newFirstSeen(), rolls: newRollouts()}
	h.ready = newReadiness(fleetNS, fleetSize)
	hcfg := countedConfig(cfg, h.counter, harnessQPS, harnessBurst)
	var err error
	h.direct, err = client.New(hcfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	owned := labels.SelectorFromSet(labels.Set{serving.LabelManagedBy: serving.ManagedBy})
	h.mgr, err = ctrl.NewManager(hcfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&appsv1.Deployment{}: {Label: owned},
			&batchv1.Job{}:       {Label: owned},
		}},
		Controller: config.Controller{SkipNameValidation: ptr.To(true), MaxConcurrentReconciles: 8},
	})
	if err != nil {
		return nil, err
	}
	if err := ctrl.NewControllerManagedBy(h.mgr).For(&appsv1.Deployment{}).Named("bench-deployment-availability").
		Complete(availability{h.mgr.GetClient()}); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *harness) start(ctx context.Context) error {
	products, err := h.mgr.GetCache().GetInformer(ctx, &lifecyclev1alpha1.AIProduct{})
	if err != nil {
		return err
	}
	if _, err := products.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { h.sawProduct(o) },
		UpdateFunc: func(_, o any) { h.sawProduct(o) },
	}); err != nil {
		return err
	}
	jobs, err := h.mgr.GetCache().GetInformer(ctx, &batchv1.Job{})
	if err != nil {
		return err
	}
	if _, err := jobs.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			if j, ok := o.(*batchv1.Job); ok {
				h.jobs.see(types.NamespacedName{Namespace: j.Namespace, Name: j.Labels[lifecyclev1alpha1.LabelProduct]})
			}
		},
	}); err != nil {
		return err
	}
	go func() { _ = h.mgr.Start(ctx) }()
	if !h.mgr.GetCache().WaitForCacheSync(ctx) {
		return ctx.Err()
	}
	return nil
}

func (h *harness) sawProduct(o any) {
	p, ok := o.(*lifecyclev1alpha1.AIProduct)
	if !ok {
		return
	}
	h.ready.see(p)
	h.rolls.see(p)
}

// availability does what the Deployment controller and kubelets would: it
// reports every replica of every operator-owned Deployment available.
type availability struct{ client.Client }

func (a availability) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	d := &appsv1.Deployment{}
	if err := a.Get(ctx, req.NamespacedName, d); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	want := ptr.Deref(d.Spec.Replicas, 1)
	if d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == want && d.Status.UpdatedReplicas == want {
		return ctrl.Result{}, nil
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: want, UpdatedReplicas: want,
		ReadyReplicas: want, AvailableReplicas: want, Conditions: []appsv1.DeploymentCondition{{
			Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
			LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()}}}
	return ctrl.Result{}, client.IgnoreNotFound(a.Status().Update(ctx, d))
}

// ready reports whether the operator has reconciled the product's current
// generation and found it Ready.
func ready(p *lifecyclev1alpha1.AIProduct) bool {
	c := meta.FindStatusCondition(p.Status.Conditions, lifecyclev1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == p.Generation &&
		p.Status.ObservedGeneration == p.Generation
}

// readiness tracks the Ready products of one namespace and notes the moment
// the last of them became Ready.
type readiness struct {
	ns   string
	want int

	mu    sync.Mutex
	ready map[string]bool
	n     int
	at    time.Time
	done  chan struct{}
}

func newReadiness(ns string, want int) *readiness {
	return &readiness{ns: ns, want: want, ready: map[string]bool{}, done: make(chan struct{})}
}

func (r *readiness) see(p *lifecyclev1alpha1.AIProduct) {
	if p.Namespace != r.ns {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	is := ready(p)
	if is == r.ready[p.Name] {
		return
	}
	r.ready[p.Name] = is
	if is {
		r.n++
	} else {
		r.n--
	}
	if r.n == r.want && r.at.IsZero() {
		r.at = now
		close(r.done)
	}
}

func (r *readiness) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// firstSeen notes when the harness first saw something happen for a key.
type firstSeen struct {
	mu sync.Mutex
	at map[types.NamespacedName]time.Time
}

func newFirstSeen() *firstSeen { return &firstSeen{at: map[types.NamespacedName]time.Time{}} }

func (f *firstSeen) see(k types.NamespacedName) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.at[k]; !ok {
		f.at[k] = now
	}
}

func (f *firstSeen) get(k types.NamespacedName) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.at[k]
	return t, ok
}

// rollouts follows the rollouts of the pause probes: the start of each
// timed pause as the operator recorded it, and when the harness first saw
// the weight of the step after it.
type rollouts struct {
	mu     sync.Mutex
	watch  map[types.NamespacedName]rolloutWatch
	paused map[types.NamespacedName]time.Time
	next   map[types.NamespacedName]time.Time
}

type rolloutWatch struct {
	pauseStep  int32
	nextWeight int32
}

func newRollouts() *rollouts {
	return &rollouts{watch: map[types.NamespacedName]rolloutWatch{}, paused: map[types.NamespacedName]time.Time{},
		next: map[types.NamespacedName]time.Time{}}
}

func (r *rollouts) follow(k types.NamespacedName, pauseStep, nextWeight int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watch[k] = rolloutWatch{pauseStep: pauseStep, nextWeight: nextWeight}
}

func (r *rollouts) see(p *lifecyclev1alpha1.AIProduct) {
	now := time.Now()
	k := client.ObjectKeyFromObject(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.watch[k]
	ro := p.Status.Rollout
	if !ok || ro == nil {
		return
	}
	if ro.Phase == lifecyclev1alpha1.RolloutPaused && ro.Step == w.pauseStep && ro.StepStartedAt != nil {
		r.paused[k] = ro.StepStartedAt.Time
	}
	if _, seen := r.next[k]; !seen && ro.Weight == w.nextWeight && ro.Step > w.pauseStep {
		r.next[k] = now
	}
}

func (r *rollouts) result(k types.NamespacedName) (pauseStart, weightSeen time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pauseStart, ok1 := r.paused[k]
	weightSeen, ok2 := r.next[k]
	return pauseStart, weightSeen, ok1 && ok2
}
