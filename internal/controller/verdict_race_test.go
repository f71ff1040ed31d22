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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// versionClient is a fake API server holding products and versions with
// their status subresources.
func versionClient(t *testing.T) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1.ModelVersion{}, &v1.AIProduct{}).Build()
}

// The product reconciler sets a version's stage while the version's own
// reconciler judges it from the copy before that write. The verdict must
// not put the stage back: its write is refused, and decided again.
func TestVerdictFromAStaleCopyDoesNotUndoTheStage(t *testing.T) {
	c := versionClient(t)
	ctx := context.Background()
	p := newProduct(v1.PhaseDelivery)
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Status.ObservedGeneration = p.Generation
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	mv := newVersion(p.Name, "1.0.0", "auc", "0.9")
	mv.Labels = map[string]string{v1.LabelProduct: p.Name}
	if err := c.Create(ctx, mv); err != nil {
		t.Fatal(err)
	}
	stale := &v1.ModelVersion{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(mv), stale); err != nil {
		t.Fatal(err)
	}

	// The product's write: the version serves production.
	served := stale.DeepCopy()
	served.Status.Stage, served.Status.StageReason = v1.StageProduction, "first production version"
	served.Status.StageTransitionTime = &metav1.Time{}
	if err := c.Status().Update(ctx, served); err != nil {
		t.Fatal(err)
	}

	r := &ModelVersionReconciler{Client: &staleReader{Client: c, stale: stale}, Clock: clock.RealClock{}}
	_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(mv)})
	if !apierrors.IsConflict(err) {
		t.Fatalf("a verdict from the copy before the stage write: got %v, want a Conflict to decide again", err)
	}
	got := &v1.ModelVersion{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(mv), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Stage != v1.StageProduction {
		t.Fatalf("stage %q after the stale verdict, want %q", got.Status.Stage, v1.StageProduction)
	}

	// From the fresh copy the verdict lands, and the stage stays.
	r.Client = c
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(mv)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(mv), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Stage != v1.StageProduction || !got.Status.Eligible {
		t.Fatalf("after the fresh verdict: stage %q, eligible %t; want %q and true", got.Status.Stage, got.Status.Eligible, v1.StageProduction)
	}
}

// Which product changes wake its versions' reconciler: only those a
// verdict depends on.
func TestJudgedBy(t *testing.T) {
	base := newProduct(v1.PhaseDelivery)
	base.Generation = 1
	base.Status.ProductionVersion = "v1"
	for _, tt := range []struct {
		name   string
		change func(p *v1.AIProduct)
		wake   bool
	}{
		{"a status write of conditions alone", func(p *v1.AIProduct) { p.Status.Phase = v1.PhaseDelivery }, false},
		{"a new generation (the policy may have changed)", func(p *v1.AIProduct) { p.Generation = 2 }, true},
		{"a new production version", func(p *v1.AIProduct) { p.Status.ProductionVersion = "v2" }, true},
		{"the product's reconcile of a new generation", func(p *v1.AIProduct) { p.Status.ObservedGeneration = 1 }, true},
		{"production cleared", func(p *v1.AIProduct) { p.Status.ProductionVersion = "" }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			after := base.DeepCopy()
			tt.change(after)
			if got := judgedBy.Update(event.UpdateEvent{ObjectOld: base, ObjectNew: after}); got != tt.wake {
				t.Fatalf("wake = %t, want %t", got, tt.wake)
			}
		})
	}
	if !judgedBy.Create(event.CreateEvent{Object: base}) || !judgedBy.Delete(event.DeleteEvent{Object: base}) {
		t.Fatal("a product's arrival and departure must wake its versions")
	}
}

// A version waits for its product's first reconcile of the current
// generation, which judges the version it serves in the write that stages
// it; judged before that, the served version would be written twice.
func TestVersionWaitsForItsProductsReconcile(t *testing.T) {
	c := versionClient(t)
	ctx := context.Background()
	p := newProduct(v1.PhaseDelivery)
	p.Generation = 2
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	mv := newVersion(p.Name, "1.0.0", "auc", "0.9")
	mv.Labels = map[string]string{v1.LabelProduct: p.Name}
	if err := c.Create(ctx, mv); err != nil {
		t.Fatal(err)
	}
	r := &ModelVersionReconciler{Client: c, Clock: clock.RealClock{}}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(mv)}
	verdict := func() v1.ModelVersionStatus {
		t.Helper()
		if _, err := r.Reconcile(ctx, req); err != nil {
			t.Fatal(err)
		}
		got := &v1.ModelVersion{}
		if err := c.Get(ctx, req.NamespacedName, got); err != nil {
			t.Fatal(err)
		}
		return got.Status
	}

	if st := verdict(); st.Stage != "" || len(st.Conditions) > 0 {
		t.Fatalf("judged before the product reconciled: %+v", st)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
		t.Fatal(err)
	}
	p.Status.ObservedGeneration = p.Generation
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	if st := verdict(); st.Stage != v1.StageCandidate || !st.Eligible {
		t.Fatalf("after the product's reconcile: stage %q, eligible %t; want %q and true", st.Stage, st.Eligible, v1.StageCandidate)
	}
}
