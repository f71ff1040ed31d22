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

package traffic

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func kserveProduct() *lifecyclev1alpha1.AIProduct {
	return &lifecyclev1alpha1.AIProduct{
		ObjectMeta: metav1.ObjectMeta{Name: "fraud", Namespace: "ml"},
		Spec: lifecyclev1alpha1.AIProductSpec{Delivery: &lifecyclev1alpha1.DeliverySpec{Serving: lifecyclev1alpha1.ServingSpec{
			Backend: lifecyclev1alpha1.BackendKServe, InferenceService: &lifecyclev1alpha1.InferenceServiceRef{Name: "fraud-isvc"},
		}}},
	}
}

func isvc(generation int64, ready string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"predictor": map[string]any{"model": map[string]any{
			"modelFormat": map[string]any{"name": "sklearn"}, "storageUri": "s3://m/1"}}},
		"status": map[string]any{
			"observedGeneration": generation,
			"conditions":         []any{map[string]any{"type": "Ready", "status": ready}},
		},
	}}
	u.SetGroupVersionKind(InferenceServiceGVK)
	u.SetNamespace("ml")
	u.SetName("fraud-isvc")
	u.SetGeneration(generation)
	return u
}

func read(t *testing.T, c client.Client) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(InferenceServiceGVK)
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "ml", Name: "fraud-isvc"}, u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestKServeCanaryPromoteAndRollback(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(runtime.NewScheme()).WithObjects(isvc(1, "True")).Build()
	k := &KServe{Client: c, Reader: c}
	p := kserveProduct()
	ctx := context.Background()
	stable, canary := &Target{Version: "v1", URI: "s3://m/1"}, &Target{Version: "v2", URI: "s3://m/2"}

	// Stable alone, already as the service serves: nothing to change, in
	// effect because Ready.
	ok, err := k.Route(ctx, p, stable, nil, 0)
	if err != nil || !ok {
		t.Fatalf("stable: %v, %v", ok, err)
	}

	ok, err = k.Route(ctx, p, stable, canary, 20)
	if err != nil || ok {
		t.Fatalf("canary at 20%%: in effect %v, err %v; want a change not yet in effect", ok, err)
	}
	u := read(t, c)
	uri, _, _ := unstructured.NestedString(u.Object, "spec", "predictor", "model", "storageUri")
	pct, _, _ := unstructured.NestedInt64(u.Object, "spec", "predictor", "canaryTrafficPercent")
	if uri != "s3://m/2" || pct != 20 {
		t.Fatalf("storageUri %q canaryTrafficPercent %d", uri, pct)
	}

	ok, err = k.Route(ctx, p, stable, canary, 100)
	if err != nil {
		t.Fatal(err)
	}
	u = read(t, c)
	if _, found, _ := unstructured.NestedInt64(u.Object, "spec", "predictor", "canaryTrafficPercent"); found || ok {
		t.Fatalf("promotion must drop canaryTrafficPercent and wait for readiness; found=%v ok=%v", found, ok)
	}

	ok, err = k.Route(ctx, p, stable, nil, 0)
	if err != nil || ok {
		t.Fatalf("rollback: %v %v", ok, err)
	}
	uri, _, _ = unstructured.NestedString(read(t, c).Object, "spec", "predictor", "model", "storageUri")
	if uri != "s3://m/1" {
		t.Fatalf("rollback storageUri %q", uri)
	}
}

func TestKServeReadiness(t *testing.T) {
	if ready(isvc(2, "True")) != true || ready(isvc(2, "False")) != false {
		t.Fatal("Ready condition not read")
	}
	u := isvc(2, "True")
	_ = unstructured.SetNestedField(u.Object, int64(1), "status", "observedGeneration")
	if ready(u) {
		t.Fatal("a status older than the spec is not ready")
	}
}

func TestKServeMissing(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(runtime.NewScheme()).Build()
	_, err := (&KServe{Client: c, Reader: c}).Route(context.Background(), kserveProduct(), &Target{Version: "v1", URI: "s3://m/1"}, nil, 0)
	if err == nil || err.Error() != "InferenceService fraud-isvc not found" {
		t.Fatalf("err = %v", err)
	}
}

func TestBackendRefs(t *testing.T) {
	p := &lifecyclev1alpha1.AIProduct{ObjectMeta: metav1.ObjectMeta{Name: "fraud"}, Spec: lifecyclev1alpha1.AIProductSpec{Delivery: &lifecyclev1alpha1.DeliverySpec{Serving: lifecyclev1alpha1.ServingSpec{Port: 8080}}}}
	refs := BackendRefs(p, &Target{Version: "v1"}, &Target{Version: "v2"}, 30)
	if len(refs) != 2 || refs[0].Name != "fraud-v1" || *refs[0].Weight != 70 || refs[1].Name != "fraud-v2" || *refs[1].Weight != 30 {
		t.Fatalf("refs %+v", refs)
	}
	refs = BackendRefs(p, &Target{Version: "v1"}, nil, 0)
	if len(refs) != 1 || *refs[0].Weight != 100 {
		t.Fatalf("stable only %+v", refs)
	}
}
