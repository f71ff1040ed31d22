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
	"reflect"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/index"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

// staleReader answers Get for the object it holds (same kind, same name)
// with a copy of it, as a cache that has not yet seen a later write would.
type staleReader struct {
	client.Client
	stale client.Object
}

func (s *staleReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if s.stale != nil && key.Name == s.stale.GetName() && reflect.TypeOf(obj) == reflect.TypeOf(s.stale) {
		reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(s.stale.DeepCopyObject()).Elem())
		return nil
	}
	return s.Client.Get(ctx, key, obj, opts...)
}

func TestReconcileWaitsForTheCacheToHoldItsOwnStatusWrite(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := lifecyclev1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	// Every write the operator makes, of any kind: a decision from a stale
	// copy would show here as a write (a status, a Deployment applied at a
	// rollout's earlier weight, a child created again).
	var writes atomic.Int32
	count := interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			writes.Add(1)
			return c.Create(ctx, o, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, o client.Object, p client.Patch, opts ...client.PatchOption) error {
			writes.Add(1)
			return c.Patch(ctx, o, p, opts...)
		},
		Apply: func(ctx context.Context, c client.WithWatch, o runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			writes.Add(1)
			return c.Apply(ctx, o, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
			writes.Add(1)
			return c.Delete(ctx, o, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, o client.Object, opts ...client.SubResourceUpdateOption) error {
			writes.Add(1)
			return c.SubResource(sub).Update(ctx, o, opts...)
		},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(count).
		WithStatusSubresource(&lifecyclev1alpha1.AIProduct{}).
		WithIndex(&lifecyclev1alpha1.ModelVersion{}, productIndex, func(o client.Object) []string {
			return []string{string(o.(*lifecyclev1alpha1.ModelVersion).Spec.Product)}
		}).
		WithIndex(&appsv1.Deployment{}, index.Owner, index.ByOwner).
		WithIndex(&corev1.Service{}, index.Owner, index.ByOwner).
		WithIndex(&lifecyclev1alpha1.RetrainingRun{}, index.Owner, index.ByOwner).
		Build()
	ctx := context.Background()
	p := newProduct(lifecyclev1alpha1.PhaseStrategy)
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	querier, err := prom.NewClient("", 0)
	if err != nil {
		t.Fatal(err)
	}
	reader := &staleReader{Client: c}
	r := &AIProductReconciler{Client: reader, APIReader: c, Prometheus: querier, Clock: clock.RealClock{}}
	r.fleet = prom.NewFleet(querier, r.Clock.Now)
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)}

	before := &lifecyclev1alpha1.AIProduct{}
	if err := c.Get(ctx, req.NamespacedName, before); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	after := &lifecyclev1alpha1.AIProduct{}
	if err := c.Get(ctx, req.NamespacedName, after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion == before.ResourceVersion || after.Status.Phase != lifecyclev1alpha1.PhaseStrategy {
		t.Fatalf("the first reconcile wrote no status (phase %q)", after.Status.Phase)
	}

	// Woken again while the cache still holds the copy from before that
	// write: it waits rather than deciding again from it, and writes
	// nothing at all. One writer per object does not make this guard
	// redundant: the writer itself reads through a cache that lags its own
	// writes, and the children it applies from a stale status (a rollout's
	// earlier weight) are real pods moved back and forth.
	reader.stale = before
	writes.Store(0)
	res, err := r.Reconcile(ctx, req)
	if n := writes.Load(); n != 0 {
		t.Fatalf("made %d writes from a copy older than its own last write", n)
	}
	if err != nil || res.RequeueAfter != cacheLag {
		t.Fatalf("got %+v, %v; want a wait of %v", res, err, cacheLag)
	}
	again := &lifecyclev1alpha1.AIProduct{}
	if err := c.Get(ctx, req.NamespacedName, again); err != nil {
		t.Fatal(err)
	}
	if again.ResourceVersion != after.ResourceVersion {
		t.Fatal("wrote status from a copy older than its own last write")
	}

	// Once the cache holds the write, it reconciles as usual.
	reader.stale = nil
	if res, err := r.Reconcile(ctx, req); err != nil || res.RequeueAfter == cacheLag {
		t.Fatalf("with the cache caught up: %+v, %v", res, err)
	}
	if _, waiting := r.written.Load(req.NamespacedName); waiting {
		t.Fatal("still waiting for a cache that caught up")
	}
}
