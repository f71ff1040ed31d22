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
	"github.com/aipm-io/aipm-operator/internal/outcome"
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

// TestKServeModes drives one InferenceService per case, already Ready,
// through one Route call and checks what its spec says afterwards. The
// envtest suite runs the same against KServe's own CRD.
func TestKServeModes(t *testing.T) {
	stable, canary := &Target{Version: "v1", URI: "s3://m/1"}, &Target{Version: "v2", URI: "s3://m/2"}
	type want struct {
		uri       string
		percent   int64 // -1: absent
		inEffect  bool
		stallWith string
	}
	for _, tt := range []struct {
		name    string
		mode    string // the annotation; "" leaves it to the status
		status  string // status.deploymentMode
		uri     string
		percent int64 // -1: absent
		canary  *Target
		weight  int32
		want    want
	}{
		{"no mode reported yet: nothing is touched", "", "", "s3://m/1", -1, canary, 20, want{"s3://m/1", -1, false, ""}},
		{"Knative, stable as it serves", "Serverless", "", "s3://m/1", -1, nil, 0, want{"s3://m/1", -1, true, ""}},
		{"Knative, mode from the status", "", "Knative", "s3://m/1", -1, canary, 20, want{"s3://m/2", 20, false, ""}},
		{"Knative, canary at 20%", "Serverless", "", "s3://m/1", -1, canary, 20, want{"s3://m/2", 20, false, ""}},
		{"Knative, promotion sends all to the newest", "Serverless", "", "s3://m/2", 20, canary, 100, want{"s3://m/2", 100, false, ""}},
		{"Knative, abort keeps the artifact and sends 0%", "Serverless", "", "s3://m/2", 20, canary, 0, want{"s3://m/2", 0, false, ""}},
		{"Knative, rolled back stays rolled back", "Serverless", "", "s3://m/2", 0, nil, 0, want{"s3://m/2", 0, false, ""}},
		{"Knative, a stable never split is rolled to", "Serverless", "", "s3://m/9", -1, nil, 0, want{"s3://m/1", -1, false, ""}},
		{"Standard without a route refuses a partial canary", "RawDeployment", "", "s3://m/1", -1, canary, 20, want{"s3://m/1", -1, false, lifecyclev1alpha1.ReasonRouteRequired}},
		{"Standard without a route rolls straight to 100%", "Standard", "", "s3://m/1", -1, canary, 100, want{"s3://m/2", -1, false, ""}},
		{"ModelMesh is refused", "ModelMesh", "", "s3://m/1", -1, nil, 0, want{"s3://m/1", -1, false, lifecyclev1alpha1.ReasonDeploymentModeUnsupported}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := isvc(1, "True")
			if tt.mode != "" {
				u.SetAnnotations(map[string]string{AnnotationDeploymentMode: tt.mode})
			}
			_ = unstructured.SetNestedField(u.Object, tt.status, "status", "deploymentMode")
			_ = unstructured.SetNestedField(u.Object, tt.uri, "spec", "predictor", "model", "storageUri")
			if tt.percent >= 0 {
				_ = unstructured.SetNestedField(u.Object, tt.percent, "spec", "predictor", "canaryTrafficPercent")
			}
			c := fake.NewClientBuilder().WithScheme(runtime.NewScheme()).WithObjects(u).Build()
			inEffect, err := (&KServe{Client: c, Reader: c}).Route(context.Background(), kserveProduct(), stable, tt.canary, tt.weight)
			if st := outcome.Stalling(err); (st == nil && tt.want.stallWith != "") || (st != nil && st.Reason != tt.want.stallWith) ||
				(st == nil && err != nil) {
				t.Fatalf("err = %v, want a stall with %q", err, tt.want.stallWith)
			}
			got := read(t, c)
			uri, _, _ := unstructured.NestedString(got.Object, "spec", "predictor", "model", "storageUri")
			percent, found, _ := unstructured.NestedInt64(got.Object, "spec", "predictor", "canaryTrafficPercent")
			if !found {
				percent = -1
			}
			if uri != tt.want.uri || percent != tt.want.percent || inEffect != tt.want.inEffect {
				t.Fatalf("storageUri %q, canaryTrafficPercent %d, in effect %v; want %q, %d, %v",
					uri, percent, inEffect, tt.want.uri, tt.want.percent, tt.want.inEffect)
			}
		})
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
