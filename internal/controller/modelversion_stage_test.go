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
package controller

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// versionClient is a fake API server holding products, versions and
// experiments with their status subresources and the version reconciler's
// index; funcs, if given, intercept its calls.
func versionClient(t *testing.T, funcs ...interceptor.Funcs) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := lifecyclev1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&lifecyclev1alpha1.ModelVersion{}, &lifecyclev1alpha1.AIProduct{}, &lifecyclev1alpha1.Experiment{})
	for _, f := range funcs {
		b = b.WithInterceptorFuncs(f)
	}
	return b.Build()
}

// A canary's stage follows its product's record even when the version's
// status write meets a conflict: the write is retried soon, without an
// error, and lands. (Tried as a user would, a version taking 20% of live
// traffic once read Candidate after such a conflict, when another
// reconciler wrote its stage and never retried.)
func TestCanaryStageLandsAfterAConflict(t *testing.T) {
	ctx := context.Background()
	conflicts := 1
	c := versionClient(t, interceptor.Funcs{
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			if _, ok := obj.(*lifecyclev1alpha1.ModelVersion); ok && conflicts > 0 {
				conflicts--
				return apierrors.NewConflict(schema.GroupResource{Resource: "modelversions"}, obj.GetName(), nil)
			}
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
	})
	p := newProduct(lifecyclev1alpha1.PhaseDelivery)
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Status.ObservedGeneration = 1
	p.Status.ProductionVersion = "v1"
	p.Status.Rollout = &lifecyclev1alpha1.RolloutStatus{StableVersion: "v1", CanaryVersion: "v2", Phase: lifecyclev1alpha1.RolloutPaused, Weight: 20}
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	mv := newVersion(p.Name, "2.0.0", "auc", "0.9")
	mv.Name = "v2"
	mv.Labels = map[string]string{lifecyclev1alpha1.LabelProduct: p.Name}
	if err := c.Create(ctx, mv); err != nil {
		t.Fatal(err)
	}
	r := &ModelVersionReconciler{Client: c, Clock: clock.RealClock{}}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(mv)}

	res, err := r.Reconcile(ctx, req)
	if err != nil || res.RequeueAfter <= 0 {
		t.Fatalf("after a conflict: result %+v, error %v; want a quiet, prompt retry", res, err)
	}
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	got := &lifecyclev1alpha1.ModelVersion{}
	if err := c.Get(ctx, req.NamespacedName, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Stage != lifecyclev1alpha1.StageStaging || !got.Status.Eligible {
		t.Fatalf("stage %q, eligible %t; want %q and eligible", got.Status.Stage, got.Status.Eligible, lifecyclev1alpha1.StageStaging)
	}
}

// A version in a running experiment is Staging, and Rejected once the
// experiment fails, from the Experiment's record alone.
func TestStageFollowsExperiments(t *testing.T) {
	ctx := context.Background()
	c := versionClient(t)
	p := newProduct(lifecyclev1alpha1.PhaseDiscovery)
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Status.ObservedGeneration = 1
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	mv := newVersion(p.Name, "1.0.0", "auc", "0.9")
	mv.Name = "candidate"
	mv.Labels = map[string]string{lifecyclev1alpha1.LabelProduct: p.Name}
	if err := c.Create(ctx, mv); err != nil {
		t.Fatal(err)
	}
	exp := &lifecyclev1alpha1.Experiment{}
	exp.Name, exp.Namespace = ExperimentName(p.Name, "shadow"), p.Namespace
	exp.Spec.Product, exp.Spec.DiscoveryExperiment = lifecyclev1alpha1.LocalObjectName(p.Name), p.Spec.Discovery.Experiments[0]
	if err := controllerutil.SetControllerReference(p, exp, c.Scheme()); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, exp); err != nil {
		t.Fatal(err)
	}
	r := &ModelVersionReconciler{Client: c, Clock: clock.RealClock{}}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(mv)}
	stage := func() (lifecyclev1alpha1.Stage, string) {
		t.Helper()
		if _, err := r.Reconcile(ctx, req); err != nil {
			t.Fatal(err)
		}
		got := &lifecyclev1alpha1.ModelVersion{}
		if err := c.Get(ctx, req.NamespacedName, got); err != nil {
			t.Fatal(err)
		}
		return got.Status.Stage, got.Status.StageReason
	}
	setPhase := func(phase lifecyclev1alpha1.ExperimentPhase, verdict lifecyclev1alpha1.ExperimentVerdict) {
		t.Helper()
		if err := c.Get(ctx, client.ObjectKeyFromObject(exp), exp); err != nil {
			t.Fatal(err)
		}
		exp.Status.Phase, exp.Status.Verdict, exp.Status.Message = phase, verdict, "auc 0.6 below 0.8"
		if err := c.Status().Update(ctx, exp); err != nil {
			t.Fatal(err)
		}
	}
	if s, _ := stage(); s != lifecyclev1alpha1.StageCandidate {
		t.Fatalf("before the experiment runs: %q, want Candidate", s)
	}
	setPhase(lifecyclev1alpha1.ExperimentRunning, "")
	if s, why := stage(); s != lifecyclev1alpha1.StageStaging || why != "in experiment shadow" {
		t.Fatalf("while it runs: %q (%s), want Staging in experiment shadow", s, why)
	}
	setPhase(lifecyclev1alpha1.ExperimentFinished, lifecyclev1alpha1.VerdictFailed)
	if s, why := stage(); s != lifecyclev1alpha1.StageRejected || why != "experiment shadow failed: auc 0.6 below 0.8" {
		t.Fatalf("after it failed: %q (%s), want Rejected with the experiment's word", s, why)
	}
}

// Which product changes wake its versions' reconciler: only those a
// version's status depends on.
func TestProductRecordChanged(t *testing.T) {
	base := newProduct(lifecyclev1alpha1.PhaseDelivery)
	base.Generation = 1
	base.Status.ProductionVersion = "v1"
	base.Status.Rollout = &lifecyclev1alpha1.RolloutStatus{CanaryVersion: "v2", Phase: lifecyclev1alpha1.RolloutProgressing, Weight: 10}
	for _, tt := range []struct {
		name   string
		change func(p *lifecyclev1alpha1.AIProduct)
		wake   bool
	}{
		{"a status write of conditions alone", func(p *lifecyclev1alpha1.AIProduct) { p.Status.Phase = lifecyclev1alpha1.PhaseDelivery }, false},
		{"a rollout's next weight", func(p *lifecyclev1alpha1.AIProduct) { p.Status.Rollout.Weight = 50 }, false},
		{"a new generation (the policy may have changed)", func(p *lifecyclev1alpha1.AIProduct) { p.Generation = 2 }, true},
		{"a new production version", func(p *lifecyclev1alpha1.AIProduct) { p.Status.ProductionVersion = "v2" }, true},
		{"production cleared", func(p *lifecyclev1alpha1.AIProduct) { p.Status.ProductionVersion = "" }, true},
		{"a rollout aborted", func(p *lifecyclev1alpha1.AIProduct) { p.Status.Rollout.Phase = lifecyclev1alpha1.RolloutAborted }, true},
		{"a new canary", func(p *lifecyclev1alpha1.AIProduct) { p.Status.Rollout.CanaryVersion = "v3" }, true},
		{"a rollout abandoned", func(p *lifecyclev1alpha1.AIProduct) { p.Status.Rollout.Reason = "Abandoned" }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			after := base.DeepCopy()
			tt.change(after)
			if got := productRecordChanged.Update(event.UpdateEvent{ObjectOld: base, ObjectNew: after}); got != tt.wake {
				t.Fatalf("wake = %t, want %t", got, tt.wake)
			}
		})
	}
	unseen := base.DeepCopy()
	unseen.Status = lifecyclev1alpha1.AIProductStatus{}
	if !productRecordChanged.Update(event.UpdateEvent{ObjectOld: unseen, ObjectNew: base}) {
		t.Fatal("the product's first reconcile must wake its versions, which waited for it")
	}
	if !productRecordChanged.Create(event.CreateEvent{Object: base}) || !productRecordChanged.Delete(event.DeleteEvent{Object: base}) {
		t.Fatal("a product's arrival and departure must wake its versions")
	}
}

// A version whose product exists but was never reconciled writes nothing
// until the product's first record, then writes its stage once: deciding
// before would write Candidate, then Production a moment later.
func TestVersionWaitsForItsProductsFirstRecord(t *testing.T) {
	ctx := context.Background()
	writes := 0
	c := versionClient(t, interceptor.Funcs{
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			if _, ok := obj.(*lifecyclev1alpha1.ModelVersion); ok {
				writes++
			}
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
	})
	p := newProduct(lifecyclev1alpha1.PhaseDelivery)
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	mv := newVersion(p.Name, "1.0.0", "auc", "0.9")
	mv.Name = "v1"
	mv.Labels = map[string]string{lifecyclev1alpha1.LabelProduct: p.Name}
	if err := c.Create(ctx, mv); err != nil {
		t.Fatal(err)
	}
	r := &ModelVersionReconciler{Client: c, Clock: clock.RealClock{}}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(mv)}
	if res, err := r.Reconcile(ctx, req); err != nil || res != (ctrl.Result{}) || writes != 0 {
		t.Fatalf("product unseen: result %+v, error %v, %d writes; want nothing", res, err, writes)
	}

	p.Status.ObservedGeneration = 1
	p.Status.ProductionVersion = "v1"
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := r.Reconcile(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	got := &lifecyclev1alpha1.ModelVersion{}
	if err := c.Get(ctx, req.NamespacedName, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Stage != lifecyclev1alpha1.StageProduction || writes != 1 {
		t.Fatalf("stage %q after %d writes; want Production in one", got.Status.Stage, writes)
	}
}
