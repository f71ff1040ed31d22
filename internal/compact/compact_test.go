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

package compact

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// decoded returns a fresh product as the cache gets one: decoded from
// JSON, so that no two hold the same string or map.
func decoded(t testing.TB, name string) *lifecyclev1alpha1.AIProduct {
	t.Helper()
	p := &lifecyclev1alpha1.AIProduct{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "fleet", Labels: map[string]string{"team": "search"},
			CreationTimestamp: metav1.NewTime(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))},
		Spec: lifecyclev1alpha1.AIProductSpec{
			Description: "ranks results",
			Strategy: &lifecyclev1alpha1.StrategySpec{Objectives: []lifecyclev1alpha1.Objective{{
				Name: "ctr", Query: "ctr", MatchLabels: lifecyclev1alpha1.SeriesMatch{"product": "$product"}, Target: "0.1", Direction: lifecyclev1alpha1.AtLeast,
			}}},
		},
		Status: lifecyclev1alpha1.AIProductStatus{Conditions: []metav1.Condition{
			{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Reconciled", Message: "product is in phase Delivery"},
			{Type: "Serving", Status: metav1.ConditionTrue, Reason: "Available", Message: name + "-v1 serves production"},
		}},
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	out := &lifecyclev1alpha1.AIProduct{}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameString(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func sameMap[M ~map[string]string](a, b M) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestObjectKeepsValues(t *testing.T) {
	for _, obj := range []runtime.Object{
		decoded(t, "search"),
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "search", Annotations: map[string]string{}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "search"}, ClusterIPs: make([]string, 1, 4),
				Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		},
		&corev1.Secret{Data: map[string][]byte{"token": []byte("s3cret")}, StringData: nil},
		&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "server",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}}}}}},
	} {
		t.Run(fmt.Sprintf("%T", obj), func(t *testing.T) {
			want := obj.DeepCopyObject()
			Object(obj)
			// reflect.DeepEqual, not a semantic comparison: nil and empty
			// maps and slices must stay as they were.
			if !reflect.DeepEqual(obj, want) {
				t.Errorf("Object changed the value:\n got %#v\nwant %#v", obj, want)
			}
		})
	}
}

func TestObjectShares(t *testing.T) {
	a, b := decoded(t, "search"), decoded(t, "ads")
	if sameString(a.Spec.Description, b.Spec.Description) || sameMap(a.Labels, b.Labels) {
		t.Fatal("decoding already shares; the test shows nothing")
	}
	Object(a)
	Object(b)

	shared := []struct {
		what string
		same bool
	}{
		{"spec.description", sameString(a.Spec.Description, b.Spec.Description)},
		{"a condition's message", sameString(a.Status.Conditions[0].Message, b.Status.Conditions[0].Message)},
		{"a condition's reason", sameString(a.Status.Conditions[1].Reason, b.Status.Conditions[1].Reason)},
		{"labels", sameMap(a.Labels, b.Labels)},
		{"an objective's matchLabels", sameMap(a.Spec.Strategy.Objectives[0].MatchLabels, b.Spec.Strategy.Objectives[0].MatchLabels)},
	}
	for _, s := range shared {
		if !s.same {
			t.Errorf("%s is not shared", s.what)
		}
	}
	if a.Status.Conditions[1].Message == b.Status.Conditions[1].Message {
		t.Errorf("different messages came out equal: %q", a.Status.Conditions[1].Message)
	}
	if a.Name != "search" || b.Name != "ads" {
		t.Errorf("names are %q and %q", a.Name, b.Name)
	}
}

func TestObjectClipsSlices(t *testing.T) {
	s := &corev1.Service{Spec: corev1.ServiceSpec{ClusterIPs: append(make([]string, 0, 8), "10.0.0.1")}}
	Object(s)
	if got := cap(s.Spec.ClusterIPs); got != 1 {
		t.Errorf("cap(clusterIPs) = %d, want 1", got)
	}
}

// A shared map is remembered until the pool is full; past that, sharing
// starts over and the maps shared until then keep their values.
func TestSharedForgetsWhenFull(t *testing.T) {
	first := shared(map[string]string{"k": "first"})
	for i := range maxMaps {
		shared(map[string]string{"k": fmt.Sprint(i)})
	}
	again := shared(map[string]string{"k": "first"})
	if sameMap(first, again) {
		t.Error("the pool kept more than maxMaps maps")
	}
	if first["k"] != "first" || again["k"] != "first" {
		t.Errorf("maps changed: %v, %v", first, again)
	}
	if again2 := shared(map[string]string{"k": "first"}); !sameMap(again, again2) {
		t.Error("sharing did not start over")
	}
}

func BenchmarkObject(b *testing.B) {
	products := make([]*lifecyclev1alpha1.AIProduct, b.N)
	for i := range products {
		products[i] = decoded(b, fmt.Sprintf("product-%05d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		Object(products[i])
	}
}
