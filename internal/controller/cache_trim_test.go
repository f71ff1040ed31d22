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
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// The cache keeps what the operator reads and drops the rest; these are the
// fields a reconcile reads from a cached object.
func TestCacheTrimKeepsWhatTheOperatorReads(t *testing.T) {
	p := &lifecyclev1alpha1.AIProduct{ObjectMeta: metav1.ObjectMeta{Name: "p",
		Annotations:   map[string]string{lastApplied: `{"big":"copy"}`, lifecyclev1alpha1.AnnotationRetry: "1"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	original := p.Annotations
	if _, err := trimObject(p); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Annotations[lastApplied]; ok || p.ManagedFields != nil {
		t.Errorf("kept last-applied or managedFields: %v %v", p.Annotations, p.ManagedFields)
	}
	if p.Annotations[lifecyclev1alpha1.AnnotationRetry] != "1" {
		t.Errorf("lost the operator's own annotation: %v", p.Annotations)
	}
	if _, ok := original[lastApplied]; !ok {
		t.Error("changed the annotations map it was given instead of a copy")
	}

	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "d", Generation: 3, Annotations: map[string]string{serving.AnnotationSpecHash: "abc"}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "server", Image: "img"}}}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 3, UpdatedReplicas: 2, AvailableReplicas: 2},
	}
	if _, err := trimDeployment(d); err != nil {
		t.Fatal(err)
	}
	if len(d.Spec.Template.Spec.Containers) != 0 {
		t.Error("kept the pod template")
	}
	if serving.Hash(d) != "abc" || !serving.Available(d) || d.Spec.Selector == nil {
		t.Errorf("lost what tells a changed or available Deployment: %+v", d)
	}
}
